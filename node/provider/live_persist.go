package provider

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/hepsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// A live database's snapshot (docs/node-provider.md, "Live mode"), kept
// in DataDir/live/<escaped category>.hepsi, lets a restarted provider
// answer live queries within seconds: reading it back costs a pass over
// the file, where building costs a PRF evaluation per entry and every
// bin's interpolation (about a CPU-minute each at 10^6 entries). The file
// is
//
//	magic (liveMagic) | u8 length | category
//	| period u64 | key id [32] | sizedFor u64 | entries u64
//	| per entry: uvarint length | OPRF input | PRF output [64] | label [16]
//	| the database (hepsi.Database.WriteTo)
//	| SHA-256 of every byte before it
//
// With Config.Seal the whole file is a node/seal stream for the location
// liveLocation(category), as a last good read is: it holds the list's
// identifiers. A snapshot that does not open, does not match its checksum
// or whose database does not read back is refused, removed and the
// database built from the list: it is never served.
//
// It is written through a temporary file and a rename after a build, then
// at most every liveSaveEvery while the list changes, and when Run ends;
// a restart applies the list's changes since (the sync after reading it
// back), so an older snapshot costs only those.
const (
	liveMagic     = "riskmesh live database v1\n"
	liveSuffix    = ".hepsi"
	liveTmpPrefix = ".writing-"
	liveSaveEvery = 5 * time.Minute
	// liveEntryMin is the smallest encoded entry: a length byte, a
	// one-byte input, the output and the label.
	liveEntryMin = 1 + 1 + oprf.OutputSize + catalog.LabelSize
	// maxLiveInput bounds an entry's OPRF input: the canonical
	// identifier, a type byte and at most ident.MaxRawLen bytes.
	maxLiveInput = 1 + ident.MaxRawLen
	// maxCategory is the longest category name the header holds.
	maxCategory = 255
)

// errLiveSnapshot reports a snapshot that is not one: damaged, truncated,
// or inconsistent with its own header.
var errLiveSnapshot = errors.New("provider: live database snapshot unusable")

func (p *Provider) liveDir() string { return filepath.Join(p.cfg.DataDir, "live") }

func (p *Provider) livePath(category string) string {
	return filepath.Join(p.liveDir(), url.PathEscape(category)+liveSuffix)
}

// liveLocation is where a sealed snapshot of category is bound (node/seal).
func liveLocation(category string) string { return "live/" + category }

// liveSnapshot is a liveDB frozen for writing: its entries and its
// database as they stood together under liveSet.sync, so the snapshot's
// entries are exactly the database's while updates go on.
type liveSnapshot struct {
	period   uint64
	key      oprf.KeyID
	sizedFor int
	entries  map[string]liveEntry
	db       *hepsi.Snapshot
}

// snapshot freezes l for writing; the caller releases the database's
// snapshot. Called with liveSet.sync held, or on a liveDB nothing else
// updates.
func (l *liveDB) snapshot() *liveSnapshot {
	return &liveSnapshot{period: l.period, key: l.key, sizedFor: l.sizedFor, entries: l.entries, db: l.db.Snapshot()}
}

// saveLiveIfDue writes l's snapshot if it has changes the file lacks and
// the last one is liveSaveEvery old (saveLive). Called without
// liveSet.sync held.
func (p *Provider) saveLiveIfDue(category string, l *liveDB) { p.saveLive(category, l, false) }

// saveLive writes l's snapshot if l is still category's database and has
// changes the file lacks, and, unless now is set, the last snapshot is
// liveSaveEvery old. It freezes the entries and the database under
// liveSet.sync, which takes no longer than an update (hepsi's Snapshot
// waits for updates, which run under liveSet.sync anyway, never for the
// answers running), and writes them off it, so updates and answers go on
// during the write (seconds at 10^6 entries); writes are serialised by
// liveSet.saving. A failure is logged: the database answers on, its
// changes stay to be saved, and a restart builds it from the list. Called
// without liveSet.sync held.
func (p *Provider) saveLive(category string, l *liveDB, now bool) {
	p.live.saving.Lock()
	defer p.live.saving.Unlock()
	p.live.sync.Lock()
	p.live.mu.Lock()
	current := p.live.m[category] == l
	p.live.mu.Unlock()
	if !current || !l.dirty || !now && !l.savedAt.IsZero() && p.cfg.Now().Sub(l.savedAt) < liveSaveEvery {
		p.live.sync.Unlock()
		return
	}
	snap := l.snapshot()
	l.dirty = false // changes from here on set it again
	p.live.sync.Unlock()
	err := p.writeLive(category, snap)
	snap.db.Release()
	p.live.sync.Lock()
	defer p.live.sync.Unlock()
	if err != nil {
		l.dirty = true
		p.log.Warn("provider: live database snapshot not written", "category", category, "err", err)
		return
	}
	l.savedAt = p.cfg.Now()
}

// saveLiveAll writes the snapshot of every live database with changes
// the file lacks: Run does when it ends, so a restart applies none.
func (p *Provider) saveLiveAll() {
	p.live.mu.Lock()
	ls := make(map[string]*liveDB, len(p.live.m))
	for cat, l := range p.live.m {
		ls[cat] = l
	}
	p.live.mu.Unlock()
	for cat, l := range ls {
		p.saveLive(cat, l, true)
	}
}

func (p *Provider) writeLive(category string, snap *liveSnapshot) error {
	dir := p.liveDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	removeStaleTemps(dir)
	tmp, err := os.CreateTemp(dir, liveTmpPrefix+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	out, closeOut, err := p.sealTo(tmp, liveLocation(category))
	if err == nil {
		err = encodeLive(out, category, snap)
	}
	if err == nil {
		err = closeOut()
	}
	if err != nil {
		tmp.Close()
		return err
	}
	return commitTemp(tmp, p.livePath(category))
}

// removeStaleTemps removes temporary files a write that crashed left; no
// other write runs (liveSet.saving).
func removeStaleTemps(dir string) {
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if strings.HasPrefix(de.Name(), liveTmpPrefix) {
			os.Remove(filepath.Join(dir, de.Name()))
		}
	}
}

// encodeLive writes category's snapshot l in the snapshot format.
func encodeLive(w io.Writer, category string, l *liveSnapshot) error {
	if len(category) > maxCategory {
		return fmt.Errorf("%w: category name of %d bytes", errLiveSnapshot, len(category))
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	h := sha256.New()
	mw := io.MultiWriter(bw, h)
	head := append([]byte(liveMagic), byte(len(category)))
	head = append(head, category...)
	head = binary.BigEndian.AppendUint64(head, l.period)
	head = append(head, l.key[:]...)
	head = binary.BigEndian.AppendUint64(head, uint64(l.sizedFor))
	head = binary.BigEndian.AppendUint64(head, uint64(len(l.entries)))
	if _, err := mw.Write(head); err != nil {
		return err
	}
	var buf []byte
	for in, e := range l.entries {
		buf = binary.AppendUvarint(buf[:0], uint64(len(in)))
		buf = append(append(append(buf, in...), e.output[:]...), e.label[:]...)
		if _, err := mw.Write(buf); err != nil {
			return err
		}
	}
	if _, err := l.db.WriteTo(mw); err != nil {
		return err
	}
	if _, err := bw.Write(h.Sum(nil)); err != nil {
		return err
	}
	return bw.Flush()
}

// loadLive reads category's snapshot back if it is period's under key:
// nil, nil if there is none or it is another period's (then it is
// removed); an error if it is refused.
func (p *Provider) loadLive(category string, period uint64, key oprf.KeyID) (*liveDB, error) {
	r, f, err := p.openSealed(p.livePath(category), liveLocation(category))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	l, err := p.decodeLive(r, fi.Size(), category, period, key)
	switch {
	case err != nil:
		return nil, err
	case l == nil:
		p.removeLiveSnapshot(category)
		return nil, nil
	}
	l.loaded, l.savedAt = true, p.cfg.Now()
	return l, nil
}

// decodeLive reads category's snapshot of at most limit bytes from r, or
// returns nil, nil for one of another period or key.
func (p *Provider) decodeLive(r io.Reader, limit int64, category string, period uint64, key oprf.KeyID) (*liveDB, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	tr := &hashingReader{r: br, h: sha256.New()}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errLiveSnapshot}, args...)...)
	}
	magic := make([]byte, len(liveMagic)+1)
	if _, err := io.ReadFull(tr, magic); err != nil || string(magic[:len(liveMagic)]) != liveMagic {
		return nil, bad("not a live database snapshot")
	}
	name := make([]byte, magic[len(liveMagic)])
	if _, err := io.ReadFull(tr, name); err != nil || string(name) != category {
		return nil, bad("not a snapshot of this category")
	}
	head := make([]byte, 8+oprf.KeyIDSize+8+8)
	if _, err := io.ReadFull(tr, head); err != nil {
		return nil, bad("truncated")
	}
	rest := head
	l := &liveDB{period: binary.BigEndian.Uint64(rest), key: oprf.KeyID(rest[8 : 8+oprf.KeyIDSize])}
	rest = rest[8+oprf.KeyIDSize:]
	sizedFor, count := binary.BigEndian.Uint64(rest), binary.BigEndian.Uint64(rest[8:])
	if l.period != period || l.key != key {
		return nil, nil
	}
	if count > uint64(limit/liveEntryMin) {
		return nil, bad("%d entries in %d bytes", count, limit)
	}
	// Parameters are chosen for the list at a build and never more than
	// twice it, so they bound the database's memory by the entries'.
	if sizedFor > 2*max(count, minLiveSize) {
		return nil, bad("sized for %d entries, holds %d", sizedFor, count)
	}
	l.sizedFor = int(sizedFor)
	l.entries = make(map[string]liveEntry, count)
	in := make([]byte, maxLiveInput)
	for range count {
		n, err := binary.ReadUvarint(tr)
		if err != nil || n == 0 || n > maxLiveInput {
			return nil, bad("entry of %d bytes", n)
		}
		var e liveEntry
		if _, err := io.ReadFull(tr, in[:n]); err != nil {
			return nil, bad("truncated")
		}
		if _, err := io.ReadFull(tr, e.output[:]); err != nil {
			return nil, bad("truncated")
		}
		if _, err := io.ReadFull(tr, e.label[:]); err != nil {
			return nil, bad("truncated")
		}
		if _, dup := l.entries[string(in[:n])]; dup {
			return nil, bad("an entry repeats")
		}
		l.entries[string(in[:n])] = e
	}
	params, err := hepsi.ParamsFor(max(l.sizedFor, minLiveSize), p.cfg.LiveBatch, catalog.LabelSize)
	if err != nil {
		return nil, bad("parameters: %v", err)
	}
	l.db, err = hepsi.ReadDatabase(tr, limit, params)
	if err != nil {
		return nil, bad("database: %v", err)
	}
	if l.db.Len() != len(l.entries) {
		return nil, bad("database of %d items for %d entries", l.db.Len(), len(l.entries))
	}
	sum := make([]byte, sha256.Size)
	if _, err := io.ReadFull(br, sum); err != nil {
		return nil, bad("truncated")
	}
	if !bytes.Equal(sum, tr.h.Sum(nil)) {
		return nil, bad("checksum mismatch")
	}
	// Reading to the end also authenticates a sealed stream's last chunk.
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, bad("trailing data or unreadable end: %v", err)
	}
	return l, nil
}

// hashingReader hashes the bytes it returns.
type hashingReader struct {
	r *bufio.Reader
	h hash.Hash
}

func (hr *hashingReader) Read(b []byte) (int, error) {
	n, err := hr.r.Read(b)
	hr.h.Write(b[:n])
	return n, err
}

func (hr *hashingReader) ReadByte() (byte, error) {
	c, err := hr.r.ReadByte()
	if err == nil {
		hr.h.Write([]byte{c})
	}
	return c, err
}

// removeLiveSnapshot removes category's snapshot; a failure only costs
// reading it again at the next start.
func (p *Provider) removeLiveSnapshot(category string) {
	if err := os.Remove(p.livePath(category)); err != nil && !errors.Is(err, os.ErrNotExist) {
		p.log.Warn("provider: remove live database snapshot", "category", category, "err", err)
	}
}
