package provider

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/labelhash"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
)

// The statistics a provider declares with a catalog (docs/quality.md,
// "Declared catalog statistics") are computed while the catalog is built
// and kept beside its file, DataDir/catalogs/<category>/<period>.stats:
//
//	[0:32]   digest of the catalog file they describe
//	[32]     1 if the statistics are declared, 0 if they could not be
//	         computed (the previous period's set was not available)
//	[33:61]  entries, added, removed (uint64), mean age in days (uint32)
//	[61:69]  n, the number of distinct entry hashes that follow
//	[69:]    n entry hashes (uint64), strictly increasing
//
// all big-endian. The catalog file holds only OPRF outputs under a
// period-tweaked key, so the next period's build cannot compare entries
// through it; it compares its own sorted hashes with this file's, read as a
// stream, so memory holds one period's hashes (8 bytes an entry, less than
// the catalog builder holds for the same entries), never two.
const (
	statsSuffix     = ".stats"
	statsHeaderSize = catalog.DigestSize + 1 + 3*8 + 4 + 8
)

// entryHash is an identifier's 64-bit hash in the stats file. It only
// counts set differences: two identifiers colliding (about n²/2⁶⁵ for n
// entries) would miscount one addition or removal.
func entryHash(e catalogpsi.Entry) uint64 {
	h := labelhash.Sum("riskmesh/v1/provider/catalog-stats-entry", e.ID.AppendTo(nil))
	return binary.BigEndian.Uint64(h[:8])
}

// statsPath is DataDir/catalogs/<category>/<period>.stats.
func (p *Provider) statsPath(category string, period uint64) string {
	return filepath.Join(p.cfg.DataDir, "catalogs", category, strconv.FormatUint(period, 10)+statsSuffix)
}

// tally counts what a build streams: entries, the sum of their ages on day
// today, and their hashes.
type tally struct {
	today   catalog.Date
	entries uint64
	ageDays uint64
	hashes  []uint64
}

// count passes entries through, counting each.
func (t *tally) count(entries iter.Seq[catalogpsi.Entry]) iter.Seq[catalogpsi.Entry] {
	return func(yield func(catalogpsi.Entry) bool) {
		for e := range entries {
			t.entries++
			if e.Label.Listed < t.today {
				t.ageDays += uint64(t.today - e.Label.Listed)
			}
			t.hashes = append(t.hashes, entryHash(e))
			if !yield(e) {
				return
			}
		}
	}
}

// declare sorts and deduplicates the hashes and returns the statistics,
// comparing with prev, the previous period's distinct hashes (nil: no
// previous catalog, every entry is added).
func (t *tally) declare(prev iter.Seq2[uint64, error]) (*accounting.CatalogStats, error) {
	slices.Sort(t.hashes)
	t.hashes = slices.Compact(t.hashes)
	st := &accounting.CatalogStats{Entries: t.entries, Added: uint64(len(t.hashes))}
	if t.entries > 0 {
		st.MeanAgeDays = uint32(t.ageDays / t.entries) // a Date difference fits in 32 bits, so does its mean
	}
	if prev == nil {
		return st, nil
	}
	i := 0
	for h, err := range prev {
		if err != nil {
			return nil, err
		}
		for i < len(t.hashes) && t.hashes[i] < h {
			i++
		}
		if i < len(t.hashes) && t.hashes[i] == h {
			st.Added-- // in both: neither added nor removed
			i++
		} else {
			st.Removed++
		}
	}
	return st, nil
}

// writeStats writes the stats file of the catalog with digest atomically;
// st nil records that no statistics are declared.
func writeStats(path string, digest [catalog.DigestSize]byte, st *accounting.CatalogStats, hashes []uint64) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("catalog stats file: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := bufio.NewWriterSize(tmp, 1<<20)
	hdr := append(make([]byte, 0, statsHeaderSize), digest[:]...)
	if st == nil {
		hdr = append(hdr, make([]byte, 1+3*8+4)...)
	} else {
		hdr = append(hdr, 1)
		hdr = binary.BigEndian.AppendUint64(hdr, st.Entries)
		hdr = binary.BigEndian.AppendUint64(hdr, st.Added)
		hdr = binary.BigEndian.AppendUint64(hdr, st.Removed)
		hdr = binary.BigEndian.AppendUint32(hdr, st.MeanAgeDays)
	}
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(len(hashes)))
	w.Write(hdr)
	var b [8]byte
	for _, h := range hashes {
		binary.BigEndian.PutUint64(b[:], h)
		w.Write(b[:])
	}
	err = w.Flush() // bufio keeps the first write error
	if err == nil {
		err = commitTemp(tmp, path)
	} else {
		tmp.Close()
	}
	if err != nil {
		return fmt.Errorf("write catalog stats: %w", err)
	}
	return nil
}

// statsFile is an open stats file whose header was checked.
type statsFile struct {
	f        *os.File
	declared *accounting.CatalogStats // nil if none were declared
	n        uint64
}

// openStats opens the stats file at path and checks that it describes the
// catalog with digest and that its length matches its hash count.
func openStats(path string, digest [catalog.DigestSize]byte) (*statsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	sf, err := checkStats(f, digest)
	if err != nil {
		f.Close()
		return nil, err
	}
	return sf, nil
}

func checkStats(f *os.File, digest [catalog.DigestSize]byte) (*statsFile, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var hdr [statsHeaderSize]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: header: %v", errStatsFile, err)
	}
	if [catalog.DigestSize]byte(hdr[:catalog.DigestSize]) != digest {
		return nil, fmt.Errorf("%w: written for another catalog", errStatsFile)
	}
	b := hdr[catalog.DigestSize:]
	sf := &statsFile{f: f, n: binary.BigEndian.Uint64(b[29:])}
	if sf.n > catalog.MaxItems || fi.Size() != statsHeaderSize+8*int64(sf.n) {
		return nil, fmt.Errorf("%w: %d hashes in %d bytes", errStatsFile, sf.n, fi.Size())
	}
	switch {
	case b[0] == 0 && bytes.Count(b[1:29], []byte{0}) == 28:
	case b[0] == 1:
		sf.declared = &accounting.CatalogStats{
			Entries: binary.BigEndian.Uint64(b[1:]), Added: binary.BigEndian.Uint64(b[9:]),
			Removed: binary.BigEndian.Uint64(b[17:]), MeanAgeDays: binary.BigEndian.Uint32(b[25:]),
		}
	default:
		return nil, fmt.Errorf("%w: bad declaration flag or undeclared figures", errStatsFile)
	}
	return sf, nil
}

// hashes streams the file's hashes, failing on one not above the last.
func (sf *statsFile) hashes() iter.Seq2[uint64, error] {
	return func(yield func(uint64, error) bool) {
		r := bufio.NewReaderSize(sf.f, 1<<16)
		var b [8]byte
		var last uint64
		for i := range sf.n {
			if _, err := io.ReadFull(r, b[:]); err != nil {
				yield(0, fmt.Errorf("%w: %v", errStatsFile, err))
				return
			}
			h := binary.BigEndian.Uint64(b[:])
			if i > 0 && h <= last {
				yield(0, fmt.Errorf("%w: hashes out of order", errStatsFile))
				return
			}
			last = h
			if !yield(h, nil) {
				return
			}
		}
	}
}

// readDeclared returns what the stats file of an unpublished catalog file
// declares, for publishing it after a restart.
func readDeclared(path string, digest [catalog.DigestSize]byte) (*accounting.CatalogStats, error) {
	sf, err := openStats(path, digest)
	if err != nil {
		return nil, err
	}
	sf.f.Close()
	return sf.declared, nil
}

// declareStats computes the statistics of the catalog of (category,
// period) that t counted, against the previous period's published catalog:
// with none published, every entry is added; with one published whose
// stats file is missing or does not match its digest (a node that kept no
// file, or lost it), no statistics are declared rather than guessed.
func (p *Provider) declareStats(ctx context.Context, category string, period uint64, t *tally) (*accounting.CatalogStats, error) {
	if period <= 1 {
		return t.declare(nil)
	}
	prev, err := p.cfg.Ledger.Catalog(ctx, p.cfg.MSPID, category, period-1)
	if errors.Is(err, accounting.ErrNotFound) {
		return t.declare(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("read previous published catalog: %w", err)
	}
	if len(prev.Digest) != catalog.DigestSize {
		return nil, fmt.Errorf("previous published catalog digest of %d bytes", len(prev.Digest))
	}
	sf, err := openStats(p.statsPath(category, period-1), [catalog.DigestSize]byte(prev.Digest))
	if err == nil {
		defer sf.f.Close()
		var st *accounting.CatalogStats
		if st, err = t.declare(sf.hashes()); err == nil {
			return st, nil
		}
	}
	p.log.Warn("provider: previous catalog's entries unknown; no statistics declared", "category", category, "period", period, "err", err)
	slices.Sort(t.hashes)
	t.hashes = slices.Compact(t.hashes)
	return nil, nil
}
