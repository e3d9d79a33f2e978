package provider

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// Imported entries live in the node's bbolt file, one child bucket per
// source name under bucketImports, keyed by importKey with the encoded
// label as value. An import is written to a child of bucketImportStaging in
// short transactions (parsing a large file must not hold the write lock
// that evaluate answers commit under), then moved or copied into
// bucketImports in one last transaction: a crash leaves either the old
// imported set or the new one, and a staging leftover that New deletes.
//
// With sealing on (Config.Seal) the key names no identifier: it is the
// code followed by the keyring's Index of importKey, and the value is the
// label followed by importKey, sealed for the source's imported set and
// that key (storedImport), so the raw list is not readable in node.db
// and an entry moved to another key or source does not open.
var (
	bucketImports       = []byte("provider/imports")
	bucketImportStaging = []byte("provider/imports-staging")
)

// importBatch bounds the entries staged per transaction.
const importBatch = 10_000

// ErrImport reports an import request this node cannot carry out as asked:
// a source that takes no file imports, or a relative path.
var ErrImport = errors.New("provider: list import refused")

// maxImportKey bounds a stored key: the code byte and a canonical
// identifier ("<type>:" and a value of at most ident.MaxRawLen bytes).
const maxImportKey = 1 + 16 + ident.MaxRawLen

// Import reads the file at req.Path with the named source's format and
// mapping and, unless req.DryRun, stores its accepted entries as the
// source's imported entries: req.Replace replaces the imported set,
// otherwise a file entry wins over an imported one with the same
// identifier and category. The next catalog build of the source's category
// reads the configured list plus the imported entries (an imported entry
// wins over a listed one with the same identifier); Import schedules that
// build as Refresh does, so the entries reach requesters with the next
// period's catalog unless the current one is not published yet.
//
// A file that cannot be read or is not the source's format is reported in
// the ListImport's Error and nothing changes; rejected rows are reported by
// line and reason only. An unknown source is ErrUnknownSource; a source
// without ImportFile or a relative path is ErrImport. Imports run one at a
// time.
func (p *Provider) Import(ctx context.Context, req *riskmeshv1.ImportListRequest) (*riskmeshv1.ListImport, error) {
	srcs, err := p.sourcesNamed([]string{req.GetSource()})
	if err != nil {
		return nil, err
	}
	s := srcs[0]
	if s.ImportFile == nil {
		return nil, fmt.Errorf("%w: source %s takes no file imports (its rows are read from its database)", ErrImport, s.Name)
	}
	if !filepath.IsAbs(req.GetPath()) {
		return nil, fmt.Errorf("%w: the path must be absolute on the node's host", ErrImport)
	}
	file, err := s.ImportFile(req.GetPath())
	if err != nil {
		return nil, fmt.Errorf("%w: source %s: %v", ErrImport, s.Name, err)
	}

	p.importMu.Lock()
	defer p.importMu.Unlock()
	start := time.Now()
	if req.GetDryRun() {
		rep, err := lists.Drain(file.Entries(ctx, s.Code), func(catalogpsi.Entry) error { return nil })
		return p.report(s, rep, err, start, nil), ctx.Err()
	}
	rep, readErr, err := p.stage(ctx, s, file)
	if err == nil && readErr == nil {
		if err = p.commitImport(s.Name, req.GetReplace()); err == nil {
			p.listChanged(s.Category)
		}
	}
	if readErr != nil || err != nil {
		if derr := p.dropStaging(s.Name); derr != nil {
			p.log.Warn("provider: drop staged import", "source", s.Name, "err", derr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("provider: store import of source %s: %w", s.Name, err)
	}
	if readErr != nil {
		return p.report(s, rep, readErr, start, nil), ctx.Err()
	}
	p.log.Info("provider: list imported", "source", s.Name, "accepted", rep.Entries, "rejected", rep.Rejected, "replace", req.GetReplace())
	p.syncLiveAll(ctx, []string{s.Category})
	p.scheduleBuild()
	return p.report(s, rep, nil, start, []string{s.Category}), nil
}

// stage writes file's entries to the source's staging bucket in batches.
// readErr is the file's failure, err the store's.
func (p *Provider) stage(ctx context.Context, s Source, file lists.Source) (rep lists.Report, readErr, err error) {
	name := []byte(s.Name)
	err = p.cfg.DB.Update(func(tx *bolt.Tx) error {
		st := tx.Bucket(bucketImportStaging)
		if err := st.DeleteBucket(name); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
			return err
		}
		_, err := st.CreateBucket(name)
		return err
	})
	if err != nil {
		return rep, nil, err
	}
	type kv struct{ k, v []byte }
	batch := make([]kv, 0, importBatch)
	flush := func() error {
		err := p.cfg.DB.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketImportStaging).Bucket(name)
			for _, e := range batch {
				if err := b.Put(e.k, e.v); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	rep, readErr = lists.Drain(file.Entries(ctx, s.Code), func(e catalogpsi.Entry) error {
		k, v, serr := p.storedImport(s, e)
		if serr != nil { // lists validates labels; a failure here is a bug upstream
			return serr
		}
		batch = append(batch, kv{k, v})
		if len(batch) == importBatch {
			if err = flush(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, nil, err
	}
	if readErr == nil {
		err = flush()
	}
	return rep, readErr, err
}

// commitImport makes the staged set the source's imported set (replace) or
// copies it over the imported set (merge), in one transaction.
func (p *Provider) commitImport(source string, replace bool) error {
	name := []byte(source)
	return p.cfg.DB.Update(func(tx *bolt.Tx) error {
		live, staging := tx.Bucket(bucketImports), tx.Bucket(bucketImportStaging)
		if replace {
			if err := live.DeleteBucket(name); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
			return tx.MoveBucket(name, staging, live)
		}
		dst, err := live.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		err = staging.Bucket(name).ForEach(func(k, v []byte) error { return dst.Put(k, v) })
		if err != nil {
			return err
		}
		return staging.DeleteBucket(name)
	})
}

// dropStaging deletes a failed import's staged entries.
func (p *Provider) dropStaging(source string) error {
	return p.cfg.DB.Update(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketImportStaging).DeleteBucket([]byte(source))
		if errors.Is(err, bolterrors.ErrBucketNotFound) {
			return nil
		}
		return err
	})
}

// createImportBuckets creates the import buckets and deletes what an
// interrupted import staged; New calls it, before any import can run.
func createImportBuckets(tx *bolt.Tx) error {
	if err := tx.DeleteBucket(bucketImportStaging); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
		return err
	}
	for _, b := range [][]byte{bucketImports, bucketImportStaging} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

// importKey is the list category code followed by the identifier's
// canonical form, so that "same identifier and category" is "same key".
func importKey(code uint8, id ident.ID) []byte {
	return id.AppendTo([]byte{code})
}

// importLocation is the sealing location of source's imported entries:
// the same for its staged and live sets, which commitImport moves and
// copies without opening.
func importLocation(source string) []byte {
	return append(bucketImports[:len(bucketImports):len(bucketImports)], "/"+source...)
}

// storedImport returns the bbolt key and value of source s's entry e.
func (p *Provider) storedImport(s Source, e catalogpsi.Entry) (k, v []byte, err error) {
	if v, err = e.Label.MarshalBinary(); err != nil {
		return nil, nil, err
	}
	k = importKey(s.Code, e.ID)
	if p.cfg.Seal == nil {
		return k, v, nil
	}
	return sealImport(p.cfg.Seal, s.Name, k, v)
}

// sealImport returns the stored key and value of source's entry of plain
// key k (importKey) and encoded label with sealing on.
func sealImport(ring *seal.Keyring, source string, k, label []byte) (sk, v []byte, err error) {
	sk = sealedImportKey(ring, k)
	v, err = ring.SealValue(importLocation(source), sk, append(label, k...))
	return sk, v, err
}

// sealedImportKey is the stored key of plain key k (importKey: its code
// first) with sealing on.
func sealedImportKey(ring *seal.Keyring, k []byte) []byte {
	return append([]byte{k[0]}, ring.Index(string(bucketImports), k)...)
}

// decodeImported parses one stored imported entry. The file is the node's
// own, but a damaged or hand-edited one must fail a build with an error,
// not a panic or a wrong catalog.
func decodeImported(k, v []byte) (catalogpsi.Entry, error) {
	var e catalogpsi.Entry
	if len(k) < 2 || len(k) > maxImportKey || k[0] == 0 {
		return e, fmt.Errorf("imported entry: malformed key (%d bytes)", len(k))
	}
	id, err := ident.ParseID(string(k[1:]))
	if err != nil {
		return e, fmt.Errorf("imported entry: identifier: %w", err)
	}
	if id.String() != string(k[1:]) {
		return e, errors.New("imported entry: identifier not in canonical form")
	}
	if err := e.Label.UnmarshalBinary(v); err != nil {
		return e, fmt.Errorf("imported entry: %w", err)
	}
	if e.Label.Category != k[0] {
		return e, errors.New("imported entry: label category differs from the key's")
	}
	e.ID = id
	return e, nil
}

// importSnapshot begins the read transaction a build of category reads
// imported entries in, or returns nil if no source of category has any:
// bbolt cannot grow its memory map while a read transaction is open, so a
// build holding one can delay evaluate commits that need the file to grow,
// a cost only nodes that import pay.
func (p *Provider) importSnapshot(category string) (*bolt.Tx, error) {
	tx, err := p.cfg.DB.Begin(false)
	if err != nil {
		return nil, err
	}
	for _, s := range p.cfg.Sources {
		if s.Category == category && p.openImported(tx, s) != nil {
			return tx, nil
		}
	}
	return nil, tx.Rollback()
}

// importedSet is one source's imported entries in a build's read
// transaction; nil when the source has none.
type importedSet struct {
	b    *bolt.Bucket
	code uint8
	// ring and location open sealed entries; ring nil: sealing off.
	ring     *seal.Keyring
	location []byte
}

// openImported returns the imported set of source s in tx, or nil (also
// when tx is nil).
func (p *Provider) openImported(tx *bolt.Tx, s Source) *importedSet {
	if tx == nil {
		return nil
	}
	b := tx.Bucket(bucketImports).Bucket([]byte(s.Name))
	if b == nil {
		return nil
	}
	return &importedSet{b: b, code: s.Code, ring: p.cfg.Seal, location: importLocation(s.Name)}
}

// shadows reports whether an imported entry replaces listed entry e.
func (is *importedSet) shadows(e catalogpsi.Entry) bool {
	if is == nil {
		return false
	}
	k := importKey(is.code, e.ID)
	if is.ring != nil {
		k = sealedImportKey(is.ring, k)
	}
	return is.b.Get(k) != nil
}

// decode opens (with sealing on) and parses one stored entry.
func (is *importedSet) decode(k, v []byte) (catalogpsi.Entry, error) {
	if is.ring == nil {
		return decodeImported(k, v)
	}
	plain, err := is.ring.OpenValue(is.location, k, v)
	if err != nil {
		return catalogpsi.Entry{}, fmt.Errorf("imported entry: %w", err)
	}
	if len(plain) < catalog.LabelSize {
		return catalogpsi.Entry{}, errors.New("imported entry: sealed value too short")
	}
	return decodeImported(plain[catalog.LabelSize:], plain[:catalog.LabelSize])
}

// all yields the imported entries of the source's code in key order; a
// stored entry that does not decode is yielded as an error and ends the
// walk. Entries of another code (the source's code was reconfigured) are
// skipped.
func (is *importedSet) all() iter.Seq2[catalogpsi.Entry, error] {
	return func(yield func(catalogpsi.Entry, error) bool) {
		if is == nil {
			return
		}
		c := is.b.Cursor()
		for k, v := c.Seek([]byte{is.code}); k != nil && k[0] == is.code; k, v = c.Next() {
			e, err := is.decode(k, v)
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}
