package provider

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/seal"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// Rows of the export the tests rewrite between periods.
const (
	rowOld = "+8613800138020,1,3,2024-05-01"
	rowNew = "+8613800138021,1,4,2024-05-02"
	// malformedExport opens a quoted field it never closes, as an export
	// cut off half-way does: the CSV reader cannot go on (a *FormatError).
	malformedExport = "phone,cat,reason,listed\n" + rowNew + "\n\"+8613800138022,1,4,2024-05-02\n"
)

// csvRows is a CSV list with the fixture's header and rows.
func csvRows(rows ...string) string {
	return "phone,cat,reason,listed\n" + strings.Join(rows, "\n") + "\n"
}

// exportFixture is the fixture with its source reading a CSV file the
// test rewrites; the returned function replaces the file's content.
func exportFixture(t *testing.T, rows ...string) (*fixture, func(content string)) {
	t.Helper()
	return exportFixtureWith(t, nil, rows...)
}

// exportFixtureWith is exportFixture with tweak applied to the
// configuration too.
func exportFixtureWith(t *testing.T, tweak func(*Config), rows ...string) (*fixture, func(content string)) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "export.csv")
	write := func(content string) { must(t, os.WriteFile(path, []byte(content), 0o600)) }
	write(csvRows(rows...))
	f := newFixture(t, func(c *Config) {
		src, err := lists.NewDelimited(lists.File(path), lists.DelimitedConfig{
			Mapping: lists.Mapping{ID: "phone", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed"},
		})
		must(t, err)
		c.Sources[0].Source = src
		if tweak != nil {
			tweak(c)
		}
	})
	return f, write
}

// wantStale checks that period's catalog is published, serving and built
// from the source's last good read, and that the provider reports the
// source unreadable with that read's time.
func (f *fixture) wantStale(period uint64) {
	f.t.Helper()
	if _, err := f.requester.Catalog(f.ctx, providerMSP, category, period); err != nil {
		f.t.Fatalf("period %d's catalog not published: %v", period, err)
	}
	var st *riskmeshv1.LocalCatalog
	for _, c := range f.p.CatalogStatus(category) {
		if c.GetPeriod() == period {
			st = c
		}
	}
	if st.GetState() != riskmeshv1.CatalogState_CATALOG_STATE_READY || !st.GetServing() {
		f.t.Fatalf("period %d status %v, want READY and serving", period, st)
	}
	if s := st.GetStaleSources(); len(s) != 1 || s[0].GetSource() != "black-csv" || s[0].GetLastGood() == nil ||
		!strings.Contains(s[0].GetError(), "line") {
		f.t.Fatalf("period %d stale sources %v, want black-csv with its last good read and the format error", period, s)
	}
	u := f.p.UnreadableSources()
	if len(u) != 1 || u[0].GetSource() != "black-csv" || u[0].GetLastGood() == nil {
		f.t.Fatalf("unreadable sources %v, want black-csv with a last good read", u)
	}
	if strings.Contains(u[0].GetError(), "8613800138022") {
		f.t.Fatal("the reported error holds a listed identifier")
	}
}

// An export that turns malformed at rollover does not take the category
// offline: the new period's catalog is built from the last good read and
// published, look-ups find the old list, and the source is reported. Once
// the export is fixed a refresh clears the report and the next period's
// catalog holds the new list.
func TestMalformedExportServesLastGoodRead(t *testing.T) {
	f, write := exportFixture(t, rowOld)
	f.maintain()
	write(malformedExport)
	f.nextPeriod()
	f.wantStale(2)
	if hit, reason := f.lookup(2, "+8613800138020"); !hit || reason != 3 {
		t.Fatalf("period 2: old list's entry hit=%v reason=%d, want a hit with reason 3", hit, reason)
	}
	if hit, _ := f.lookup(2, "+8613800138021"); hit {
		t.Fatal("period 2: an entry of the malformed export was catalogued")
	}

	write("phone,cat,reason,listed\n" + rowNew + "\n")
	imps, err := f.p.Refresh(f.ctx, nil)
	must(t, err)
	if imps[0].GetError() != "" || imps[0].GetAccepted() != 1 {
		t.Fatalf("refresh of the fixed export: %v", imps[0])
	}
	if u := f.p.UnreadableSources(); len(u) != 0 {
		t.Fatalf("unreadable sources %v after a good read", u)
	}
	must(t, f.regulator.ClosePeriod(f.ctx, 1))
	f.nextPeriod()
	if st := f.p.CatalogStatus(category); len(st[len(st)-1].GetStaleSources()) != 0 {
		t.Fatalf("period 3 status %v, want no stale source", st[len(st)-1])
	}
	if hit, _ := f.lookup(3, "+8613800138020"); hit {
		t.Fatal("period 3 still holds the old list")
	}
	if hit, reason := f.lookup(3, "+8613800138021"); !hit || reason != 4 {
		t.Fatalf("period 3: new list's entry hit=%v reason=%d", hit, reason)
	}
}

// A restart while the export is still malformed keeps the report (it is
// on disk) and builds from the last good read again: with the catalog
// file lost, the rebuild reproduces the published digest, and the next
// period is built from it too.
func TestRestartWhileDegradedServesLastGoodRead(t *testing.T) {
	f, write := exportFixture(t, rowOld)
	f.maintain()
	write(malformedExport)
	f.nextPeriod()
	published := f.p.CatalogStatus(category)[1].GetDigest()

	must(t, os.RemoveAll(filepath.Join(f.p.cfg.DataDir, "catalogs")))
	p2, err := New(f.p.cfg)
	must(t, err)
	f.p = p2
	if u := f.p.UnreadableSources(); len(u) != 1 || u[0].GetLastGood() == nil || u[0].GetError() == "" {
		t.Fatalf("after a restart, unreadable sources %v, want black-csv with its last good read and error", u)
	}
	f.maintain()
	f.wantStale(2)
	if !bytes.Equal(f.p.CatalogStatus(category)[0].GetDigest(), published) {
		t.Fatal("the rebuild from the last good read changed the published digest")
	}
	if hit, _ := f.lookup(2, "+8613800138020"); !hit {
		t.Fatal("period 2 lost the old list's entry after the restart")
	}
	must(t, f.regulator.ClosePeriod(f.ctx, 1))
	f.nextPeriod()
	f.wantStale(3)
	if hit, _ := f.lookup(3, "+8613800138020"); !hit {
		t.Fatal("period 3 lost the old list's entry")
	}
}

// With no good read ever, a malformed export fails the build as before:
// nothing is published, the status says why, and the source is reported
// without a last good read.
func TestFirstReadMalformedFails(t *testing.T) {
	f, write := exportFixture(t)
	write(malformedExport)
	if failed := f.p.maintain(f.ctx); !failed {
		t.Fatal("maintain reported success")
	}
	st := f.p.CatalogStatus(category)[0]
	if st.GetState() != riskmeshv1.CatalogState_CATALOG_STATE_FAILED || !strings.Contains(st.GetError(), "no last good read") {
		t.Fatalf("status %v, want FAILED for want of a last good read", st)
	}
	if _, err := f.requester.Catalog(f.ctx, providerMSP, category, 1); !errors.Is(err, accounting.ErrNotFound) {
		t.Fatalf("catalog lookup: %v, want nothing published", err)
	}
	if u := f.p.UnreadableSources(); len(u) != 1 || u[0].GetLastGood() != nil {
		t.Fatalf("unreadable sources %v, want black-csv without a last good read", u)
	}
}

// A damaged last good read fails the build instead of being published
// short, one of another category code does not count, and the file of a
// source no longer configured is deleted.
func TestDamagedLastGoodReadFailsBuild(t *testing.T) {
	f, write := exportFixture(t, rowOld, rowNew)
	f.maintain()
	path := f.p.lastGoodPath("black-csv")
	b, err := os.ReadFile(path)
	must(t, err)
	b[len(lastGoodMagic)+5] ^= 1 // inside the first record's identifier
	must(t, os.WriteFile(path, b, 0o600))
	write(malformedExport)
	_, err = f.regulator.Rollover(f.ctx)
	must(t, err)
	f.refresh()
	if failed := f.p.maintain(f.ctx); !failed {
		t.Fatal("a build from a damaged last good read succeeded")
	}
	if st := f.p.CatalogStatus(category)[1]; !strings.Contains(st.GetError(), errLastGood.Error()) {
		t.Fatalf("status %v does not say the last good read is unusable", st)
	}
	if _, err := f.requester.Catalog(f.ctx, providerMSP, category, 2); !errors.Is(err, accounting.ErrNotFound) {
		t.Fatalf("catalog lookup: %v, want nothing published", err)
	}

	cfg := f.p.cfg
	cfg.Sources = []Source{cfg.Sources[0]}
	cfg.Sources[0].Code = 2
	recoded, err := New(cfg)
	must(t, err)
	if _, ok := recoded.sources.lastGood("black-csv"); ok {
		t.Fatal("a last good read of another category code counts after the source's code changed")
	}
	cfg.Sources = []Source{{Name: "other", Category: category, Code: 1, Source: cfg.Sources[0].Source}}
	_, err = New(cfg)
	must(t, err)
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("last good read of an unconfigured source kept: %v", err)
	}
}

// FuzzReplay: any bytes in a last good read file either replay to an
// error, or to entries that, written again, give back exactly those bytes
// (nothing is accepted that the writer would not have written).
func FuzzReplay(f *testing.F) {
	var entries []catalogpsi.Entry
	for i, ph := range []string{"+8613800138020", "+8613800138021"} {
		id, err := ident.Normalize("phone", ph)
		must(f, err)
		entries = append(entries, catalogpsi.Entry{ID: id, Label: catalog.Label{Category: 1, Reason: uint16(i)}})
	}
	good := encodeLastGood(f, 1, entries, time.Unix(1_700_000_000, 5))
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(encodeLastGood(f, 1, nil, time.Unix(0, 0)))
	f.Add(encodeLastGood(f, 2, entries[:1], time.Unix(1, 0)))
	p := &Provider{cfg: Config{DataDir: f.TempDir()}}
	s := Source{Name: "fuzz", Code: 1}
	must(f, os.MkdirAll(p.lastGoodDir(), 0o700))
	f.Fuzz(func(t *testing.T, b []byte) {
		must(t, os.WriteFile(p.lastGoodPath(s.Name), b, 0o600))
		var got []catalogpsi.Entry
		for e, err := range p.replay(s) {
			if err != nil {
				if !errors.Is(err, errLastGood) {
					t.Fatalf("error %v does not wrap errLastGood", err)
				}
				return
			}
			got = append(got, e)
		}
		ended := time.Unix(0, int64(binary.BigEndian.Uint64(b[len(b)-trailerSize:])))
		if again := encodeLastGood(t, s.Code, got, ended); !bytes.Equal(again, b) {
			t.Fatalf("replayed %d entries from bytes the writer would not write", len(got))
		}
	})
}

// encodeLastGood writes entries as a last good read file's bytes.
func encodeLastGood(t testing.TB, code uint8, entries []catalogpsi.Entry, ended time.Time) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := newLastGoodWriter(&buf, code)
	for _, e := range entries {
		must(t, w.add(e))
	}
	must(t, w.finish(ended))
	return buf.Bytes()
}

// entrySlice is a source yielding fixed entries, to measure the last good
// read apart from list parsing.
type entrySlice []catalogpsi.Entry

func (s entrySlice) Entries(context.Context, uint8) iter.Seq2[catalogpsi.Entry, error] {
	return func(yield func(catalogpsi.Entry, error) bool) {
		for _, e := range s {
			if !yield(e, nil) {
				return
			}
		}
	}
}

// BenchmarkLastGoodRead measures what keeping a last good read adds to
// every read of a source (write: encode, checksum, fsync, rename) and to
// every build (replay: decode, re-parse each identifier, verify), with
// the file's size per entry.
func BenchmarkLastGoodRead(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		entries := make(entrySlice, n)
		for i := range entries {
			id, err := ident.Normalize("phone", fmt.Sprintf("+86139%08d", i))
			must(b, err)
			entries[i] = catalogpsi.Entry{ID: id, Label: catalog.Label{Category: 1, Reason: uint16(i)}}
		}
		p := &Provider{cfg: Config{DataDir: b.TempDir(), Now: time.Now}}
		p.sources.m = map[string]sourceState{}
		s := Source{Name: "bench", Code: 1, Source: entries}
		b.Run(fmt.Sprintf("write/%d", n), func(b *testing.B) {
			for range b.N {
				if _, readErr, err := p.readSource(context.Background(), s); readErr != nil || err != nil {
					b.Fatal(readErr, err)
				}
			}
			fi, err := os.Stat(p.lastGoodPath(s.Name))
			must(b, err)
			b.ReportMetric(float64(fi.Size())/float64(n), "bytes/entry")
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
		})
		b.Run(fmt.Sprintf("replay/%d", n), func(b *testing.B) {
			for range b.N {
				got := 0
				for _, err := range p.replay(s) {
					must(b, err)
					got++
				}
				if got != n {
					b.Fatalf("replayed %d of %d entries", got, n)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// sealedExportFixture is exportFixture with the last good reads sealed.
func sealedExportFixture(t *testing.T, rows ...string) (*fixture, func(content string)) {
	t.Helper()
	ring, err := seal.Create(filepath.Join(t.TempDir(), seal.KeyringFile), seal.PassphraseKEK("sandbox"), nil)
	must(t, err)
	return exportFixtureWith(t, func(c *Config) { c.Seal = ring }, rows...)
}

// A sealed last good read holds no listed identifier in plain, and serves
// a degraded period across a restart exactly as a plain one does.
func TestSealedLastGoodRead(t *testing.T) {
	f, write := sealedExportFixture(t, rowOld)
	f.maintain()
	data, err := os.ReadFile(f.p.lastGoodPath("black-csv"))
	must(t, err)
	if bytes.Contains(data, []byte("8613800138020")) || bytes.Contains(data, []byte(lastGoodMagic)) {
		t.Fatal("the sealed last good read holds plain text")
	}
	write(malformedExport)
	f.nextPeriod()
	f.wantStale(2)
	must(t, os.RemoveAll(filepath.Join(f.p.cfg.DataDir, "catalogs")))
	p2, err := New(f.p.cfg)
	must(t, err)
	f.p = p2
	if u := f.p.UnreadableSources(); len(u) != 1 || u[0].GetLastGood() == nil {
		t.Fatalf("after a restart, unreadable sources %v, want black-csv with its sealed last good read", u)
	}
	f.maintain()
	f.wantStale(2)
	if hit, reason := f.lookup(2, "+8613800138020"); !hit || reason != 3 {
		t.Fatalf("entry of the sealed last good read: hit=%v reason=%d", hit, reason)
	}
}

// TestAdversarySealedLastGoodSwapped plays whoever copies one source's
// sealed last good read over another's (both in one category): the file
// does not open at the other location, so the build fails rather than
// publish the wrong list; and a keyring that was replaced is a refusal
// to start, not a silent loss of the files.
func TestAdversarySealedLastGoodSwapped(t *testing.T) {
	f, _ := sealedExportFixture(t, rowOld)
	f.maintain()
	cfg := f.p.cfg
	cfg.Sources = append(cfg.Sources, Source{Name: "black-b", Category: category, Code: 1, Source: failingSource{}})
	data, err := os.ReadFile(f.p.lastGoodPath("black-csv"))
	must(t, err)
	must(t, os.WriteFile(f.p.lastGoodPath("black-b"), data, 0o600))
	p2, err := New(cfg)
	must(t, err)
	if _, ok := p2.sources.lastGood("black-b"); ok {
		t.Fatal("a last good read copied from another source was taken as black-b's")
	}
	var entries int
	var replayErr error
	for _, err := range p2.replay(cfg.Sources[1]) {
		if err != nil {
			replayErr = err
			continue
		}
		entries++
	}
	if entries != 0 || !errors.Is(replayErr, errLastGood) {
		t.Fatalf("replay of the copied file: %d entries, %v; want none and errLastGood", entries, replayErr)
	}

	other, err := seal.Create(filepath.Join(t.TempDir(), seal.KeyringFile), seal.PassphraseKEK("sandbox"), nil)
	must(t, err)
	cfg.Sources, cfg.Seal = cfg.Sources[:1], other
	if _, err := New(cfg); !errors.Is(err, seal.ErrOtherKey) {
		t.Fatalf("start with another keyring: %v, want seal.ErrOtherKey", err)
	}
}
