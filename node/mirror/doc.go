// Package mirror keeps a requester node's verified copy of every
// provider's catalog for the current period (docs/catalog-mirror.md): it
// reads each catalog's digest and OPRF key from the ledger, downloads the
// catalog in chunks from the provider's node (resuming a partial file of the
// same digest), maps and checks it against that digest and key
// (psi/catalog, psi/catalogpsi), and holds it ready for queries until the
// period ends, when it is dropped with its file.
//
// It is apart from query execution (node/requester) because it lives on
// another clock: it follows the registry (a new period, a provider
// publishing, back-off after a failure), not queries, and a query only
// asks it one thing, the verified catalog of a provider, category and
// period (Mirror.Ready). The business API reads its state (Mirror.RemoteCatalogs)
// to tell an operator whether the node is ready to query.
//
// Verified catalogs are memory-mapped from their read-only files
// (catalog.Open), not copied into the heap, so the node's memory does not
// grow with the number and size of providers' lists.
//
// What it does not promise: a verified file changed in place by another
// process of the node's user is not detected (lookups read the file); a
// catalog that fails verification is retried with back-off,
// never used; older periods are not kept (queries are billed in the
// current period, whose PRF differs).
package mirror
