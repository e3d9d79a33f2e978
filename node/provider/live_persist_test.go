package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// liveFixture is newLiveFixture with sealing per tweak.
func liveFixture(t *testing.T, tweak func(*Config)) (*fixture, *mutableList) {
	t.Helper()
	f, list := newLiveFixture(t, ServeCatalog|ServeLive)
	if tweak != nil {
		cfg := f.p.cfg
		tweak(&cfg)
		p, err := New(cfg)
		must(t, err)
		f.p = p
	}
	return f, list
}

const newcomer = "+8613800138999"

// After a restart the live database is read back from its snapshot, not
// built, and answers at once for an entry listed before the restart, also
// one added after the snapshot was written (the sync after reading it
// applies the list's changes since). Run writes the snapshot when it ends,
// so the next restart has nothing to apply.
func TestLiveRestartReadsSnapshot(t *testing.T) {
	atRest(t, func(t *testing.T, tweak func(*Config)) {
		f, list := liveFixture(t, tweak)
		f.maintain()
		if _, err := os.Stat(f.p.livePath(category)); err != nil {
			t.Fatalf("no snapshot after the build: %v", err)
		}
		list.set(listCSV + newcomer + ",1,9,2024-04-01\n")
		_, err := f.p.Refresh(f.ctx, nil)
		must(t, err)
		if !f.p.live.m[category].dirty {
			t.Fatal("the change within liveSaveEvery of the build was saved at once, or not recorded")
		}

		f.reopen()
		f.maintain()
		l := f.p.live.m[category]
		if l == nil || !l.loaded {
			t.Fatal("the restarted provider built its live database instead of reading its snapshot")
		}
		res := f.liveLookup(1, newcomer, "+8613800138000", "+8613800138002")
		if !res[0].Found || !res[1].Found || res[2].Found {
			t.Fatalf("after restart: found %v %v %v, want the newcomer and the old entry only", res[0].Found, res[1].Found, res[2].Found)
		}

		// Run saves the pending change when it ends.
		ctx, cancel := context.WithCancel(f.ctx)
		done := make(chan error, 1)
		go func() { done <- f.p.Run(ctx) }()
		cancel()
		<-done
		key := f.key.Public().KeyID()
		saved, err := f.p.loadLive(category, 1, key)
		must(t, err)
		if saved == nil || len(saved.entries) != 3 || saved.db.Len() != 3 {
			t.Fatalf("snapshot after Run ended: %+v, want the three entries", saved)
		}
	})
}

// A list changed by more than liveIncrementalMax entries while the
// provider was down is applied by a build after the snapshot is read back,
// not in place on it.
func TestLiveRestartAfterLargeChange(t *testing.T) {
	f, list := liveFixture(t, nil)
	f.maintain()
	var b strings.Builder
	b.WriteString(listCSV)
	for i := range liveIncrementalMax + 1 {
		fmt.Fprintf(&b, "+86139%08d,1,5,2024-05-01\n", i)
	}
	list.set(b.String())
	f.reopen()
	_, err := f.p.Refresh(f.ctx, nil)
	must(t, err)
	l := f.p.live.m[category]
	if l == nil || l.loaded {
		t.Fatal("a large change since the snapshot was applied in place on it")
	}
	if got, want := l.db.Len(), 2+liveIncrementalMax+1; got != want {
		t.Fatalf("database holds %d entries, want %d", got, want)
	}
	if res := f.liveLookup(1, fmt.Sprintf("+86139%08d", 7), "+8613800138001"); !res[0].Found || !res[1].Found {
		t.Fatal("entries missing after the rebuild")
	}
}

// A damaged snapshot (a flipped byte anywhere, a cut, one sealed under
// another location) is refused and removed, and the database built from
// the list: a restart never serves it.
func TestAdversaryLiveSnapshotDamaged(t *testing.T) {
	atRest(t, func(t *testing.T, tweak func(*Config)) {
		f, _ := liveFixture(t, tweak)
		f.maintain()
		path := f.p.livePath(category)
		good, err := os.ReadFile(path)
		must(t, err)
		damages := map[string]func([]byte) []byte{
			"flipped in the header":   func(b []byte) []byte { b[len(liveMagic)+1+len(category)+3] ^= 1; return b },
			"flipped in the entries":  func(b []byte) []byte { b[len(liveMagic)+1+len(category)+64] ^= 0x40; return b },
			"flipped in the database": func(b []byte) []byte { b[len(b)/2] ^= 0x10; return b },
			"flipped in the checksum": func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
			"cut short":               func(b []byte) []byte { return b[:len(b)-100] },
			"extended":                func(b []byte) []byte { return append(b, 0) },
		}
		for name, damage := range damages {
			bad := damage(bytes.Clone(good))
			must(t, os.WriteFile(path, bad, 0o600))
			f.reopen()
			if l, err := f.p.loadLive(category, 1, f.key.Public().KeyID()); l != nil {
				t.Fatalf("%s: damaged snapshot read back (%v)", name, err)
			}
			must(t, os.WriteFile(path, bad, 0o600)) // loadLive may have removed it
			f.maintain()
			l := f.p.live.m[category]
			if l == nil || l.loaded {
				t.Fatalf("%s: a damaged snapshot was served", name)
			}
			res := f.liveLookup(1, "+8613800138000", newcomer)
			if !res[0].Found || res[1].Found {
				t.Fatalf("%s: rebuilt database: found %v %v, want listed, unlisted", name, res[0].Found, res[1].Found)
			}
			if again, err := os.ReadFile(path); err != nil || bytes.Equal(again, bad) {
				t.Fatalf("%s: the damaged snapshot was not replaced (%v)", name, err)
			}
		}
	})
}

// A snapshot of another category, copied into place, is refused: it names
// its category, and sealed it does not open at another location.
func TestAdversaryLiveSnapshotMoved(t *testing.T) {
	atRest(t, func(t *testing.T, tweak func(*Config)) {
		f, _ := liveFixture(t, tweak)
		f.maintain()
		path := f.p.livePath(category)
		data, err := os.ReadFile(path)
		must(t, err)
		other := strings.Replace(path, category, "grey", 1)
		must(t, os.WriteFile(other, data, 0o600))
		if _, err := f.p.loadLive("grey", 1, f.key.Public().KeyID()); err == nil {
			t.Fatal("another category's snapshot read back")
		}
	})
}

// A snapshot of an earlier period is not read back (its PRF outputs are
// that period's) but removed.
func TestLiveSnapshotOtherPeriod(t *testing.T) {
	f, _ := liveFixture(t, nil)
	f.maintain()
	l, err := f.p.loadLive(category, 2, f.key.Public().KeyID())
	if err != nil || l != nil {
		t.Fatalf("period 1's snapshot for period 2: %v, %v", l, err)
	}
	if _, err := os.Stat(f.p.livePath(category)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an earlier period's snapshot was kept: %v", err)
	}
}

// While a build runs, a sync of the same category returns at once with
// errLiveBuilding and leaves the build to apply the list; once it ends,
// syncs apply changes again.
func TestLiveSyncDuringBuild(t *testing.T) {
	f, list := liveFixture(t, nil)
	if !f.p.live.startBuild(category) {
		t.Fatal("no build running, yet startBuild refused")
	}
	if _, _, err := f.p.syncLive(f.ctx, category); !errors.Is(err, errLiveBuilding) {
		t.Fatalf("sync during a build: %v, want errLiveBuilding", err)
	}
	f.p.live.endBuild(category)
	f.maintain()
	list.set(listCSV + newcomer + ",1,9,2024-04-01\n")
	_, err := f.p.Refresh(f.ctx, nil)
	must(t, err)
	if res := f.liveLookup(1, newcomer); !res[0].Found {
		t.Fatal("newcomer not found")
	}
}

// A change larger than liveIncrementalMax is applied by a new database
// built off the sync lock, reusing the PRF outputs the old one holds;
// every entry is found in it.
func TestLiveLargeChangeRebuilds(t *testing.T) {
	f, list := liveFixture(t, nil)
	f.maintain()
	before := f.p.live.m[category]
	var b strings.Builder
	b.WriteString(listCSV)
	for i := range liveIncrementalMax + 1 {
		fmt.Fprintf(&b, "+86139%08d,1,5,2024-05-01\n", i)
	}
	list.set(b.String())
	_, err := f.p.Refresh(f.ctx, nil)
	must(t, err)
	after := f.p.live.m[category]
	if after == before || after.db == before.db {
		t.Fatal("a large change was applied in place")
	}
	if got, want := after.db.Len(), 2+liveIncrementalMax+1; got != want {
		t.Fatalf("rebuilt database holds %d entries, want %d", got, want)
	}
	res := f.liveLookup(1, "+8613800138000", fmt.Sprintf("+86139%08d", liveIncrementalMax), newcomer)
	if !res[0].Found || !res[1].Found || res[2].Found {
		t.Fatalf("found %v %v %v, want listed, listed, unlisted", res[0].Found, res[1].Found, res[2].Found)
	}
}

// FuzzDecodeLive mutates a real snapshot: whatever reads back must carry
// the checksum of its bytes and re-encode to a snapshot that reads back
// to the same entries.
func FuzzDecodeLive(f *testing.F) {
	fx, _ := newLiveFixture(f, ServeLive)
	fx.maintain()
	good, err := os.ReadFile(fx.p.livePath(category))
	must(f, err)
	f.Add(good)
	f.Add(good[:len(liveMagic)+70])
	key := fx.key.Public().KeyID()
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := fx.p.decodeLive(bytes.NewReader(data), int64(len(data)), category, 1, key)
		if err != nil || l == nil {
			return
		}
		body := data[:len(data)-sha256.Size]
		if sum := sha256.Sum256(body); !bytes.Equal(sum[:], data[len(body):]) {
			t.Fatal("read back a snapshot whose checksum does not hold")
		}
		var buf bytes.Buffer
		snap := l.snapshot()
		must(t, encodeLive(&buf, category, snap))
		snap.db.Release()
		again, err := fx.p.decodeLive(bytes.NewReader(buf.Bytes()), int64(buf.Len()), category, 1, key)
		if err != nil || len(again.entries) != len(l.entries) || again.db.Len() != l.db.Len() {
			t.Fatalf("re-encoded snapshot reads back as %v, %v", again, err)
		}
		for in, e := range l.entries {
			if again.entries[in] != e {
				t.Fatal("re-encoded snapshot changed an entry")
			}
		}
	})
}
