package provider

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
)

// A source's last good read is the accepted entries of the last read of it
// that ended well, kept in DataDir/lists/<escaped name>.last-good so that a
// list export that breaks (bad quoting, a truncated file, a database that
// is down) does not leave the category without a catalog for the period:
// the build takes that source from its last good read and says so
// (docs/operations.md, "Updating lists"). Every read, by a build or by
// Refresh, writes the file anew through a temporary file and a rename; a
// read that fails leaves it as it was and writes <escaped name>.failed,
// which a good read removes, so a restart still reports the failure.
//
// The file is
//
//	magic (lastGoodMagic) | code (1 byte)
//	records: uvarint length | key (importKey: code, canonical identifier) | label (catalog.LabelSize bytes)
//	0x00 | ended (unix nanoseconds, 8 bytes BE) | records (8 bytes BE) | SHA-256 of every byte before it
//
// Entries are kept in the order the source yielded them, so a catalog built
// from the file is the catalog the read would have built (buildSeed keeps
// the rest deterministic).
//
// With Config.Seal the whole file is a node/seal stream of these bytes at
// the location lastGoodLocation(source): the raw list entries are not on
// disk in plain, and a file copied to another source's name does not open.
// A plain file found while sealing is on (the node was sealing-off before)
// is unusable and replaced by the source's next good read.
const (
	lastGoodMagic  = "riskmesh last good read v1\n"
	lastGoodSuffix = ".last-good"
	failedSuffix   = ".failed"
	readingPrefix  = ".reading-"
	trailerSize    = 8 + 8 + sha256.Size
	// maxFailedMarker bounds what is read back of a .failed file.
	maxFailedMarker = 4 << 10
)

// errLastGood reports a last good read file that is not one: damaged,
// truncated, or written for another category code.
var errLastGood = errors.New("provider: last good read unusable")

// sourceStates is what the provider knows of each source's reads.
type sourceStates struct {
	mu sync.Mutex
	m  map[string]sourceState // by source name
}

// sourceState is one source's last good read and latest failure.
type sourceState struct {
	started  time.Time // when the read that set this state began; an older read does not overwrite it
	goodAt   time.Time // when the last good read ended; zero if there is none
	failedAt time.Time // when the latest read failed; zero if it ended well
	err      string    // why it failed
	// entries is the SHA-256 of the last good read's magic, code and
	// records (not its trailer, which holds when it ended), so a read that
	// found the same list is known as one; zero until this process read
	// the source well.
	entries [sha256.Size]byte
}

// UnreadableSources reports the sources whose latest read failed, by
// configuration order: LastGood is when the read their catalogs are built
// from instead ended, nil if there is none (the category's next build
// fails until the source reads well).
func (p *Provider) UnreadableSources() []*riskmeshv1.StaleSource {
	p.sources.mu.Lock()
	defer p.sources.mu.Unlock()
	var out []*riskmeshv1.StaleSource
	for _, s := range p.cfg.Sources {
		st := p.sources.m[s.Name]
		if st.failedAt.IsZero() {
			continue
		}
		u := &riskmeshv1.StaleSource{Source: s.Name, Error: st.err}
		if !st.goodAt.IsZero() {
			u.LastGood = timestamppb.New(st.goodAt)
		}
		out = append(out, u)
	}
	return out
}

// lastGood returns when source's last good read ended, if there is one.
func (s *sourceStates) lastGood(source string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.m[source].goodAt
	return t, !t.IsZero()
}

// settle records the outcome of a read that began at st.started and runs
// persist, the change of its files, under the lock, unless a read that
// began later already settled: reads of one source may overlap (a Refresh
// during a build), and the newest wins on disk as in memory. If persist
// fails nothing is recorded. It reports whether it recorded a good read
// whose entries are not the previous one's, or whose previous one this
// process did not read (changed).
func (s *sourceStates) settle(source string, st sourceState, persist func() error) (changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.m[source]
	if st.started.Before(old.started) {
		return false, nil
	}
	if err := persist(); err != nil {
		return false, err
	}
	if st.goodAt.IsZero() {
		st.goodAt, st.entries = old.goodAt, old.entries
	} else {
		changed = st.entries != old.entries || old.entries == [sha256.Size]byte{}
	}
	s.m[source] = st
	return changed, nil
}

func (p *Provider) lastGoodDir() string { return filepath.Join(p.cfg.DataDir, "lists") }

// lastGoodPath is the file of source's last good read; the name is
// path-escaped, so a source name never leaves the directory.
func (p *Provider) lastGoodPath(source string) string {
	return filepath.Join(p.lastGoodDir(), url.PathEscape(source)+lastGoodSuffix)
}

func (p *Provider) failedPath(source string) string {
	return filepath.Join(p.lastGoodDir(), url.PathEscape(source)+failedSuffix)
}

// loadSources reads what the files say of each source's reads and deletes
// the files of sources no longer configured and of reads a crash
// interrupted; New calls it, before any read can run.
func (p *Provider) loadSources() error {
	p.sources.m = map[string]sourceState{}
	keep := map[string]bool{}
	for _, s := range p.cfg.Sources {
		var st sourceState
		good, lgErr := p.lastGoodEnded(s)
		switch {
		case lgErr == nil:
			st.goodAt = good
		case errors.Is(lgErr, seal.ErrOtherKey):
			// The keyring was replaced: every sealed file is lost to
			// this node, which is the operator's to know before it runs.
			return fmt.Errorf("last good read of source %s: %w", s.Name, lgErr)
		case !errors.Is(lgErr, os.ErrNotExist):
			p.log.Warn("provider: last good read of a list source unusable", "source", s.Name, "err", lgErr)
		}
		st.failedAt, st.err = readFailed(p.failedPath(s.Name))
		p.sources.m[s.Name] = st
		keep[filepath.Base(p.lastGoodPath(s.Name))] = true
		keep[filepath.Base(p.failedPath(s.Name))] = true
	}
	des, err := os.ReadDir(p.lastGoodDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, de := range des {
		if !keep[de.Name()] {
			if err := os.Remove(filepath.Join(p.lastGoodDir(), de.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// readSource reads source s to its end, writing its accepted entries as
// its new last good read if it ends well. readErr is the source's failure
// (its last good read is left as it was), err the node's (the file could
// not be written).
func (p *Provider) readSource(ctx context.Context, s Source) (rep lists.Report, readErr, err error) {
	started := p.cfg.Now()
	dir := p.lastGoodDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return rep, nil, fmt.Errorf("last good read directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, readingPrefix+"*")
	if err != nil {
		return rep, nil, fmt.Errorf("last good read of source %s: %w", s.Name, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	out, closeOut, err := p.sealLastGood(tmp, s.Name)
	if err != nil {
		tmp.Close()
		return rep, nil, fmt.Errorf("last good read of source %s: %w", s.Name, err)
	}
	w := newLastGoodWriter(out, s.Code)
	rep, readErr = lists.Drain(s.Source.Entries(ctx, s.Code), w.add)
	if readErr == nil {
		readErr = ctx.Err()
	}
	if readErr != nil || w.err != nil {
		tmp.Close()
		if w.err != nil {
			return rep, nil, fmt.Errorf("last good read of source %s: %w", s.Name, w.err)
		}
		if ctx.Err() == nil {
			p.sourceFailed(s.Name, started, readErr)
		}
		return rep, readErr, nil
	}
	ended := p.cfg.Now()
	if err = w.finish(ended); err == nil {
		err = closeOut()
	}
	changed := false
	if err != nil {
		tmp.Close()
	} else {
		changed, err = p.sources.settle(s.Name, sourceState{started: started, goodAt: ended, entries: w.entries}, func() error {
			if err := commitTemp(tmp, p.lastGoodPath(s.Name)); err != nil {
				return err
			}
			if err := os.Remove(p.failedPath(s.Name)); !errors.Is(err, os.ErrNotExist) {
				return err
			}
			return nil
		})
	}
	if err != nil {
		return rep, nil, fmt.Errorf("last good read of source %s: %w", s.Name, err)
	}
	if changed {
		p.listChanged(s.Category)
	}
	return rep, nil, nil
}

// sourceFailed records a failed read of source, on disk too so that a
// restart still reports it. Not being able to write the marker only costs
// that report after a restart, so it is logged, not returned.
func (p *Provider) sourceFailed(source string, started time.Time, readErr error) {
	now := p.cfg.Now()
	marker := now.UTC().Format(time.RFC3339Nano) + "\n" + readErr.Error()
	p.sources.settle(source, sourceState{started: started, failedAt: now, err: readErr.Error()}, func() error {
		tmp, err := os.CreateTemp(p.lastGoodDir(), readingPrefix+"*")
		if err == nil {
			defer os.Remove(tmp.Name()) // no-op after the rename
			if _, err = tmp.WriteString(marker); err == nil {
				err = commitTemp(tmp, p.failedPath(source))
			} else {
				tmp.Close()
			}
		}
		if err != nil {
			p.log.Warn("provider: record a list source's failed read", "source", source, "err", err)
		}
		return nil
	})
}

// readFailed reads a .failed marker: when and why; zero if there is none
// or it does not parse.
func readFailed(path string) (time.Time, string) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, ""
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFailedMarker))
	if err != nil {
		return time.Time{}, ""
	}
	when, why, _ := strings.Cut(string(b), "\n")
	t, err := time.Parse(time.RFC3339Nano, when)
	if err != nil {
		return time.Time{}, ""
	}
	return t, why
}

// lastGoodWriter encodes a last good read; the first error sticks.
// entries is, after finish, the SHA-256 of what precedes the trailer.
type lastGoodWriter struct {
	code    uint8
	w       *bufio.Writer
	h       hash.Hash
	count   uint64
	buf     []byte
	err     error
	entries [sha256.Size]byte
}

func newLastGoodWriter(f io.Writer, code uint8) *lastGoodWriter {
	h := sha256.New()
	lw := &lastGoodWriter{code: code, w: bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20), h: h}
	lw.write(append([]byte(lastGoodMagic), code))
	return lw
}

func (lw *lastGoodWriter) write(b []byte) {
	if lw.err == nil {
		_, lw.err = lw.w.Write(b)
	}
}

// add is lists.Drain's callback: an error it returns ends the read.
func (lw *lastGoodWriter) add(e catalogpsi.Entry) error {
	label, err := e.Label.MarshalBinary()
	if err != nil { // lists validates labels; a failure here is a bug upstream
		lw.err = err
		return err
	}
	key := importKey(lw.code, e.ID)
	lw.buf = binary.AppendUvarint(lw.buf[:0], uint64(len(key)))
	lw.buf = append(append(lw.buf, key...), label...)
	lw.write(lw.buf)
	lw.count++
	return lw.err
}

// finish writes the trailer: the checksum covers every byte flushed
// before it.
func (lw *lastGoodWriter) finish(ended time.Time) error {
	if lw.err == nil {
		lw.err = lw.w.Flush()
	}
	copy(lw.entries[:], lw.h.Sum(nil))
	tail := binary.BigEndian.AppendUint64([]byte{0}, uint64(ended.UnixNano()))
	lw.write(binary.BigEndian.AppendUint64(tail, lw.count))
	if lw.err == nil {
		lw.err = lw.w.Flush()
	}
	lw.write(lw.h.Sum(nil))
	if lw.err == nil {
		lw.err = lw.w.Flush()
	}
	return lw.err
}

// lastGoodLocation is where a sealed last good read of source is bound
// (node/seal).
func lastGoodLocation(source string) string { return "lists/last-good/" + source }

// sealLastGood returns the writer a last good read of source is encoded
// to, sealing into f with Config.Seal, and the function that ends it.
func (p *Provider) sealLastGood(f io.Writer, source string) (io.Writer, func() error, error) {
	return p.sealTo(f, lastGoodLocation(source))
}

// sealTo returns the writer a file's bytes are encoded to, sealing into f
// for location with Config.Seal, and the function that ends it.
func (p *Provider) sealTo(f io.Writer, location string) (io.Writer, func() error, error) {
	if p.cfg.Seal == nil {
		return f, func() error { return nil }, nil
	}
	w, err := p.cfg.Seal.NewWriter(f, location)
	if err != nil {
		return nil, nil, err
	}
	return w, w.Close, nil
}

// openLastGood opens source's last good read and returns its plain bytes
// and the file to close.
func (p *Provider) openLastGood(source string) (io.Reader, *os.File, error) {
	return p.openSealed(p.lastGoodPath(source), lastGoodLocation(source))
}

// openSealed opens the file at path, sealed for location with
// Config.Seal, and returns its plain bytes and the file to close.
func (p *Provider) openSealed(path, location string) (io.Reader, *os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if p.cfg.Seal == nil {
		return f, f, nil
	}
	r, err := p.cfg.Seal.NewReader(bufio.NewReaderSize(f, 1<<20), location)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// lastGoodEnded reads when s's last good read ended. A sealed file is read
// to its end (its trailer is behind the stream's chunks); the checksum is
// checked when a build replays it.
func (p *Provider) lastGoodEnded(s Source) (time.Time, error) {
	if p.cfg.Seal == nil {
		return lastGoodEnded(p.lastGoodPath(s.Name), s.Code)
	}
	r, f, err := p.openLastGood(s.Name)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	head := make([]byte, len(lastGoodMagic)+1)
	if _, err := io.ReadFull(r, head); err != nil || string(head) != lastGoodMagic+string([]byte{s.Code}) {
		return time.Time{}, fmt.Errorf("%w: not a last good read of category code %d", errLastGood, s.Code)
	}
	var t tail
	n, err := io.Copy(&t, r)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %w", errLastGood, err)
	}
	if n < 1+trailerSize {
		return time.Time{}, fmt.Errorf("%w: truncated", errLastGood)
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(t.last()))), nil
}

// tail keeps the last trailerSize bytes written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 2*trailerSize {
		t.b = append(t.b[:0], t.b[len(t.b)-trailerSize:]...)
	}
	return len(p), nil
}

func (t *tail) last() []byte { return t.b[len(t.b)-trailerSize:] }

// lastGoodEnded reads when the last good read at path ended from its
// trailer, after checking the file's magic, category code and size; the
// checksum is checked when a build replays it.
func lastGoodEnded(path string, code uint8) (time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return time.Time{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return time.Time{}, err
	}
	if fi.Size() < int64(len(lastGoodMagic)+2+trailerSize) {
		return time.Time{}, fmt.Errorf("%w: %d bytes", errLastGood, fi.Size())
	}
	head := make([]byte, len(lastGoodMagic)+1)
	if _, err := f.ReadAt(head, 0); err != nil {
		return time.Time{}, err
	}
	if string(head) != lastGoodMagic+string([]byte{code}) {
		return time.Time{}, fmt.Errorf("%w: not a last good read of category code %d", errLastGood, code)
	}
	var ended [8]byte
	if _, err := f.ReadAt(ended[:], fi.Size()-trailerSize); err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(ended[:]))), nil
}

// replay yields the entries of source s's last good read, in the order
// they were read. Damage (a bad record, a short file, a checksum or count
// that does not match, another category code) is yielded as an error
// wrapping errLastGood and ends the walk: a build that sees it fails
// rather than publish a catalog missing part of the list.
func (p *Provider) replay(s Source) iter.Seq2[catalogpsi.Entry, error] {
	return func(yield func(catalogpsi.Entry, error) bool) {
		src, f, err := p.openLastGood(s.Name)
		if err != nil {
			yield(catalogpsi.Entry{}, fmt.Errorf("last good read: %w", err))
			return
		}
		defer f.Close()
		h := sha256.New()
		r := bufio.NewReaderSize(src, 1<<20)
		damaged := func(what string) { yield(catalogpsi.Entry{}, fmt.Errorf("%w: %s", errLastGood, what)) }
		head := make([]byte, len(lastGoodMagic)+1)
		if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head[:len(lastGoodMagic)], []byte(lastGoodMagic)) {
			damaged("not a last good read")
			return
		}
		if head[len(lastGoodMagic)] != s.Code {
			damaged("written for another category code")
			return
		}
		h.Write(head)
		var count uint64
		rec := make([]byte, maxImportKey+catalog.LabelSize)
		for {
			n, err := binary.ReadUvarint(r)
			if err != nil {
				damaged("truncated")
				return
			}
			h.Write(binary.AppendUvarint(nil, n))
			if n == 0 {
				break
			}
			if n > maxImportKey {
				damaged("record too long")
				return
			}
			b := rec[:n+catalog.LabelSize]
			if _, err := io.ReadFull(r, b); err != nil {
				damaged("truncated")
				return
			}
			h.Write(b)
			e, err := decodeImported(b[:n], b[n:])
			if err == nil && e.Label.Category != s.Code {
				err = errors.New("entry of another category code")
			}
			if err != nil {
				damaged(err.Error())
				return
			}
			count++
			if !yield(e, nil) {
				return
			}
		}
		var tail [trailerSize]byte
		if _, err := io.ReadFull(r, tail[:]); err != nil {
			damaged("truncated")
			return
		}
		h.Write(tail[:16])
		if binary.BigEndian.Uint64(tail[8:16]) != count || !bytes.Equal(h.Sum(nil), tail[16:]) {
			damaged("checksum or count does not match")
			return
		}
		if _, err := r.ReadByte(); err != io.EOF {
			damaged("bytes after the trailer")
		}
	}
}
