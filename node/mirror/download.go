package mirror

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/backoff"
	"github.com/riskmesh/riskmesh/internal/durable"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// want is one catalog to fetch: a provider's, for a category and period,
// with the digest and OPRF key the ledger holds for it.
type want struct {
	inst     accounting.Institution
	category string
	period   uint64
	digest   [catalog.DigestSize]byte
	key      *oprf.PublicKey
}

// catalogPaths returns the directory and the final file of a catalog.
func catalogPaths(root, provider, category string, period uint64) (dir, final string, err error) {
	for _, s := range []string{provider, category} {
		if s == "." || s == ".." || !filepath.IsLocal(s) {
			return "", "", fmt.Errorf("%w: %q", errUnsafeName, s)
		}
	}
	dir = filepath.Join(root, provider, category)
	return dir, filepath.Join(dir, strconv.FormatUint(period, 10)+".cat"), nil
}

// partPath is where a download in progress accumulates. The digest in the
// name makes a resumed download continue only bytes of the same catalog.
func partPath(final string, digest [catalog.DigestSize]byte) string {
	return final + "." + hex.EncodeToString(digest[:8]) + ".part"
}

// loadCatalog opens a catalog file, checking it against the ledger's
// digest and the registered key. A missing file is (nil, nil).
//
// The catalog is memory-mapped (catalog.Open), so its slots stay out of the
// heap and lookups read the verified file itself. That file is kept
// immutable: it is made read-only here, the mirror never writes to a file
// it has verified, and it replaces or drops one only by rename and remove,
// which leave an existing mapping intact (docs/catalog-mirror.md).
func loadCatalog(path string, w *want, maxBytes int64) (*catalogpsi.Requester, *catalog.Catalog, error) {
	switch err := os.Chmod(path, 0o400); {
	case errors.Is(err, os.ErrNotExist):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	cat, err := catalog.Open(path, catalog.DecodeConfig{
		MaxBytes:       maxBytes,
		ExpectedDigest: &w.digest,
	})
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil // removed since the chmod: fetch it again
	}
	if err != nil {
		return nil, nil, fmt.Errorf("decode catalog: %w", err)
	}
	r, err := catalogpsi.NewRequester(w.inst.MSPID, w.key, w.category, w.period, cat)
	if err != nil {
		return nil, nil, err
	}
	return r, cat, nil
}

// checkInfo compares a provider's CatalogInfo with what the ledger says.
func checkInfo(info *riskmeshv1.CatalogInfo, w *want, maxBytes int64) error {
	keyID := w.key.KeyID()
	switch {
	case info.GetProvider() != w.inst.MSPID || info.GetCategory() != w.category || info.GetPeriod() != w.period:
		return fmt.Errorf("%w: info is for another catalog", errCatalogInfo)
	case !bytes.Equal(info.GetDigest(), w.digest[:]):
		return fmt.Errorf("%w: provider serves another digest", errCatalogInfo)
	case !bytes.Equal(info.GetKeyId(), keyID[:]):
		return fmt.Errorf("%w: catalog built under an unregistered OPRF key", errCatalogInfo)
	case info.GetSuite() != catalogpsi.Suite:
		return fmt.Errorf("%w: suite %.32q", errCatalogInfo, info.GetSuite())
	case info.GetTotalLength() == 0 || info.GetTotalLength() > uint64(maxBytes):
		return fmt.Errorf("%w: %d bytes (limit %d)", errCatalogInfo, info.GetTotalLength(), maxBytes)
	}
	return nil
}

// checkChunk checks that a chunk continues a download at offset of a
// catalog of total bytes with digest, in pieces of at most maxChunk bytes.
func checkChunk(c *riskmeshv1.CatalogChunk, offset, total uint64, digest []byte, maxChunk int) error {
	n := uint64(len(c.GetData()))
	switch {
	case c.GetTotalLength() != total || !bytes.Equal(c.GetDigest(), digest):
		return fmt.Errorf("%w: the provider now serves another catalog", errChunk)
	case c.GetOffset() != offset:
		return fmt.Errorf("%w: offset %d, want %d", errChunk, c.GetOffset(), offset)
	case n == 0 || n > uint64(maxChunk) || n > total-offset:
		return fmt.Errorf("%w: %d data bytes at offset %d of %d", errChunk, n, offset, total)
	}
	return nil
}

// download fetches w from its provider into CatalogDir, resuming a partial
// file of the same digest, verifies it and renames it into place.
// progress is called with bytes done and total as chunks arrive.
func (m *Mirror) download(ctx context.Context, w *want, progress func(done, total uint64)) (*catalogpsi.Requester, *catalog.Catalog, error) {
	dir, final, err := catalogPaths(m.cfg.CatalogDir, w.inst.MSPID, w.category, w.period)
	if err != nil {
		return nil, nil, err
	}
	if psi, cat, err := loadCatalog(final, w, m.cfg.CatalogMaxBytes); psi != nil || err != nil {
		if err != nil { // a file that fails verification is not kept
			_ = os.Remove(final)
		}
		return psi, cat, err
	}
	info, err := m.catalogInfo(ctx, w)
	if err != nil {
		return nil, nil, err
	}
	total := info.GetTotalLength()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	part := partPath(final, w.digest)
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	offset := uint64(st.Size())
	if offset > total {
		if err := f.Truncate(0); err != nil {
			return nil, nil, err
		}
		offset = 0
	}
	if _, err := f.Seek(int64(offset), io.SeekStart); err != nil {
		return nil, nil, err
	}
	progress(offset, total)
	for retries := 0; offset < total; {
		chunk, err := m.catalogChunk(ctx, w, offset)
		if wait, ok := m.busy(err, retries); ok {
			retries++
			if err := backoff.Sleep(ctx, wait); err != nil {
				return nil, nil, err
			}
			continue
		}
		retries = 0
		if err != nil {
			return nil, nil, err
		}
		if err := checkChunk(chunk, offset, total, w.digest[:], riskmeshv1.ChunkSize(m.cfg.CatalogChunk)); err != nil {
			return nil, nil, err
		}
		if _, err := f.Write(chunk.GetData()); err != nil {
			return nil, nil, err
		}
		offset += uint64(len(chunk.GetData()))
		progress(offset, total)
	}
	if err := f.Sync(); err != nil {
		return nil, nil, err
	}
	psi, cat, err := loadCatalog(part, w, m.cfg.CatalogMaxBytes)
	if err != nil {
		_ = os.Remove(part) // bad bytes: never resume from them
		return nil, nil, err
	}
	if err := os.Rename(part, final); err != nil {
		_ = os.Remove(part) // read-only now: a later attempt could not resume it
		return nil, nil, err
	}
	_ = durable.SyncDir(dir) // best effort: a download lost to a crash is fetched again
	return psi, cat, nil
}

// maxChunkRetries bounds the waits for one chunk of a busy provider.
const maxChunkRetries = 8

// busy reports whether err is a provider asking to be asked again later
// (rate limit, overload), and how long to wait: its hint, or the back-off.
func (m *Mirror) busy(err error, retries int) (time.Duration, bool) {
	var re *peer.RemoteError
	if retries >= maxChunkRetries || !errors.As(err, &re) ||
		(re.Code != riskmeshv1.ErrorCode_ERROR_CODE_RATE_LIMITED && re.Code != riskmeshv1.ErrorCode_ERROR_CODE_UNAVAILABLE) {
		return 0, false
	}
	return max(re.RetryAfter, backoff.Delay(m.cfg.RetryBackoff, m.cfg.MaxRetryBackoff, retries+1)), true
}

func (m *Mirror) catalogInfo(ctx context.Context, w *want) (*riskmeshv1.CatalogInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.PhaseTimeout)
	defer cancel()
	resp, err := m.cfg.Send(ctx, &w.inst, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{
		CatalogInfo: &riskmeshv1.CatalogInfoRequest{Provider: w.inst.MSPID, Category: w.category, Period: w.period},
	}})
	if err != nil {
		return nil, fmt.Errorf("catalog info: %w", err)
	}
	info := resp.GetCatalogInfo()
	if info == nil {
		return nil, fmt.Errorf("%w: answer is not a catalog info", errCatalogInfo)
	}
	if err := checkInfo(info, w, m.cfg.CatalogMaxBytes); err != nil {
		return nil, err
	}
	return info, nil
}

func (m *Mirror) catalogChunk(ctx context.Context, w *want, offset uint64) (*riskmeshv1.CatalogChunk, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.PhaseTimeout)
	defer cancel()
	resp, err := m.cfg.Send(ctx, &w.inst, &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogDownload{
		CatalogDownload: &riskmeshv1.CatalogDownloadRequest{
			Provider: w.inst.MSPID, Category: w.category, Period: w.period,
			Offset: offset, MaxChunk: m.cfg.CatalogChunk, ExpectedDigest: w.digest[:],
		},
	}})
	if err != nil {
		return nil, fmt.Errorf("catalog download at offset %d: %w", offset, err)
	}
	chunk := resp.GetCatalogChunk()
	if chunk == nil {
		return nil, fmt.Errorf("%w: answer is not a chunk", errChunk)
	}
	return chunk, nil
}
