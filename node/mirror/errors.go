package mirror

import "errors"

// ErrConfig is a Config that New refuses.
var ErrConfig = errors.New("mirror: invalid config")

// Catalog download failures, reported in a catalog's status.
var (
	// errNoDigest is a provider that has not published its catalog yet.
	errNoDigest = errors.New("no catalog digest on the ledger yet")
	// errCatalogInfo is a CatalogInfo that disagrees with the ledger or
	// with the request.
	errCatalogInfo = errors.New("mirror: catalog info disagrees with the ledger")
	// errChunk is a CatalogChunk that does not continue the download.
	errChunk = errors.New("mirror: bad catalog chunk")
	// errUnsafeName is an MSP id or category that cannot name a directory.
	errUnsafeName = errors.New("mirror: name unusable as a path component")
)
