package groupcommit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/riskmesh/riskmesh/internal/testwait"
)

// The records of these tests are "key=value" puts into bucket b; replay
// applies one and notes it.
type replayer struct {
	mu   sync.Mutex
	seen []string
}

func (r *replayer) replay(tx *bolt.Tx, rec []byte) error {
	r.mu.Lock()
	r.seen = append(r.seen, string(rec))
	r.mu.Unlock()
	return applyRec(tx, rec)
}

func (r *replayer) replayed() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

func applyRec(tx *bolt.Tx, rec []byte) error {
	k, v, ok := bytes.Cut(rec, []byte("="))
	if !ok {
		return fmt.Errorf("record %q", rec)
	}
	return tx.Bucket(bucket).Put(k, v)
}

// logPut is a Log write of key=value.
func logPut(c *Committer, key, value string) error {
	rec := []byte(key + "=" + value)
	return c.Log(rec, func(tx *bolt.Tx) error { return applyRec(tx, rec) })
}

// openLogged opens (or reopens) the database at path and its logged
// Committer "test".
func openLogged(t *testing.T, path string, r *replayer) (*Committer, error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists(bucket); return err }); err != nil {
		t.Fatal(err)
	}
	c, err := Open(db, "test", r.replay)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func mustOpenLogged(t *testing.T, path string, r *replayer) *Committer {
	t.Helper()
	c, err := openLogged(t, path, r)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func value(t *testing.T, c *Committer, key string) string {
	t.Helper()
	var v []byte
	if err := c.View(func(tx *bolt.Tx) error { v = bytes.Clone(tx.Bucket(bucket).Get([]byte(key))); return nil }); err != nil {
		t.Fatal(err)
	}
	return string(v)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// crashCopy copies the database file and its log, as a crash at this
// moment would leave them, into a new directory, and returns the copy's
// database path. bbolt writes a transaction's pages only when it commits,
// so the file holds the last committed state.
func crashCopy(t *testing.T, path string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "db")
	copyFile(t, path, to)
	copyFile(t, path+".test.log", to+".test.log")
	return to
}

// A Log write returns once its record is durable, before the fold; View
// waits for the fold and then sees it; a crash before the fold replays it.
func TestLogReturnsBeforeTheFold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := mustOpenLogged(t, path, &replayer{})
	release, appended := make(chan struct{}), make(chan string, 1)
	c.afterAppend = func() {
		appended <- crashCopy(t, path)
		<-release
	}
	logged := make(chan error, 1)
	go func() { logged <- logPut(c, "a", "1") }()
	crashed := <-appended
	select {
	case err := <-logged:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Log did not return before its batch was folded")
	}
	viewed := make(chan string, 1)
	go func() { viewed <- value(t, c, "a") }()
	select {
	case v := <-viewed:
		t.Fatalf("View returned %q before the fold", v)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if v := <-viewed; v != "1" {
		t.Fatalf("View after the fold: %q, want 1", v)
	}

	// The crash point: record durable, batch not folded.
	r := &replayer{}
	c2 := mustOpenLogged(t, crashed, r)
	if got := r.replayed(); !slices.Equal(got, []string{"a=1"}) {
		t.Fatalf("replayed %q, want [a=1]", got)
	}
	if v := value(t, c2, "a"); v != "1" {
		t.Fatalf("after the replay: %q, want 1", v)
	}
	// A record replayed once is folded: opening again replays nothing.
	c2.Close()
	c2.DB().Close()
	r = &replayer{}
	c3 := mustOpenLogged(t, crashed, r)
	if got := r.replayed(); len(got) != 0 {
		t.Fatalf("a second open replayed %q", got)
	}
	// Numbers go on: a new write after the replay survives a crash too.
	if err := logPut(c3, "b", "2"); err != nil {
		t.Fatal(err)
	}
}

// Records folded into the database are not replayed, nor are the older
// records the file still holds behind the current batch, nor a torn one.
func TestReplayTakesOnlyUnfoldedWholeRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := mustOpenLogged(t, path, &replayer{})
	// A batch of three long records, folded; the next batch, one short
	// record, is written over the first of them.
	release := make(chan struct{})
	held := hold(t, c, release)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			if err := logPut(c, fmt.Sprint("old", i), string(bytes.Repeat([]byte{'x'}, 100))); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, c, 3)
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	value(t, c, "old2") // View waits for the fold
	// Folded and rewound: a crash now replays nothing.
	r := &replayer{}
	mustOpenLogged(t, crashCopy(t, path), r)
	if got := r.replayed(); len(got) != 0 {
		t.Fatalf("folded records replayed: %q", got)
	}

	var crashed, torn string
	c.afterAppend = func() { crashed, torn = crashCopy(t, path), crashCopy(t, path) }
	if err := logPut(c, "new", "1"); err != nil {
		t.Fatal(err)
	}
	value(t, c, "new") // the fold, and so the copy, has happened
	r = &replayer{}
	c2 := mustOpenLogged(t, crashed, r)
	if got := r.replayed(); !slices.Equal(got, []string{"new=1"}) {
		t.Fatalf("replayed %q, want only the unfolded record", got)
	}
	if v := value(t, c2, "old2"); v == "" {
		t.Fatal("a folded record is missing after the replay")
	}

	// Torn: the unfolded record's last byte damaged.
	b, err := os.ReadFile(torn + ".test.log")
	if err != nil {
		t.Fatal(err)
	}
	b[headerSize+len("new=1")-1] ^= 1
	if err := os.WriteFile(torn+".test.log", b, 0o600); err != nil {
		t.Fatal(err)
	}
	r = &replayer{}
	c3 := mustOpenLogged(t, torn, r)
	if got := r.replayed(); len(got) != 0 {
		t.Fatalf("a damaged record was replayed: %q", got)
	}
	if v := value(t, c3, "new"); v != "" {
		t.Fatalf("a damaged record's write is in the database: %q", v)
	}
}

// A log that resumes past the database's last folded record (records
// lost) is refused, not skipped over.
func TestOpenRefusesAGap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := mustOpenLogged(t, path, &replayer{})
	var crashed string
	c.afterAppend = func() { crashed = crashCopy(t, path) }
	if err := logPut(c, "a", "1"); err != nil {
		t.Fatal(err)
	}
	value(t, c, "a") // the fold, and so the copy, has happened
	// The copy's database holds no folded record; its log now starts at
	// record 3.
	f, err := os.Create(crashed + ".test.log")
	if err != nil {
		t.Fatal(err)
	}
	if err := (&logFile{f: f}).appendRecords(3, [][]byte{[]byte("a=1")}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := openLogged(t, crashed, &replayer{}); err == nil {
		t.Fatal("a log resuming at record 3 over a database holding none opened")
	}
}

// A batch holding an Update releases its Log writes only after the fold:
// the Update's caller was promised it, and a Log write replayed without
// the Update's effects must not have been reported done.
func TestLogBesideUpdateWaitsForTheFold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := mustOpenLogged(t, path, &replayer{})
	release := make(chan struct{})
	held := hold(t, c, release)
	logged, updated := make(chan error, 1), make(chan error, 1)
	go func() { logged <- logPut(c, "l", "1") }()
	go func() { updated <- c.Update(put("u")) }()
	waitQueued(t, c, 2)
	appended, fold := make(chan struct{}), make(chan struct{})
	c.afterAppend = func() { close(appended); <-fold }
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	<-appended
	select {
	case err := <-logged:
		t.Fatalf("a Log write beside an Update returned before the fold: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(fold)
	if err := <-logged; err != nil {
		t.Fatal(err)
	}
	if err := <-updated; err != nil {
		t.Fatal(err)
	}
	if value(t, c, "l") != "1" || !stored(t, c, "u") {
		t.Fatal("the shared batch's writes are not both stored")
	}
}

// A failing Log write fails alone; the records of the others are written
// and numbered without a gap.
func TestFailingLogWriteFailsAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := mustOpenLogged(t, path, &replayer{})
	release := make(chan struct{})
	held := hold(t, c, release)
	bad := errors.New("bad write")
	var okErr, badErr error
	var wg sync.WaitGroup
	wg.Go(func() { okErr = logPut(c, "ok", "1") })
	wg.Go(func() {
		badErr = c.Log([]byte("bad=1"), func(tx *bolt.Tx) error {
			if err := applyRec(tx, []byte("bad=1")); err != nil {
				return err
			}
			return bad
		})
	})
	waitQueued(t, c, 2)
	var crashed string
	c.afterAppend = func() { crashed = crashCopy(t, path) }
	close(release)
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if okErr != nil || value(t, c, "ok") != "1" { // View: the fold and its copy have happened
		t.Fatalf("the good write: %v", okErr)
	}
	if !errors.Is(badErr, bad) || value(t, c, "bad") != "" {
		t.Fatalf("the failing write: %v, stored %q", badErr, value(t, c, "bad"))
	}
	r := &replayer{}
	mustOpenLogged(t, crashed, r)
	if got := r.replayed(); !slices.Equal(got, []string{"ok=1"}) {
		t.Fatalf("replayed %q, want [ok=1]", got)
	}
}

// rawValue reads key from the database's committed state, without
// waiting for a fold (what a direct reader of the file sees).
func rawValue(t *testing.T, c *Committer, key string) string {
	t.Helper()
	var v []byte
	if err := c.DB().View(func(tx *bolt.Tx) error { v = bytes.Clone(tx.Bucket(bucket).Get([]byte(key))); return nil }); err != nil {
		t.Fatal(err)
	}
	return string(v)
}

// Log writes that follow one another within the hold share its
// transaction: each returns once its own record is durable, the database
// holds none of them until the fold, a crash meanwhile replays them all in
// order, and View brings the fold forward.
func TestHeldFoldTakesTheWritesThatFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := mustOpenLogged(t, path, &replayer{})
	c.holdFor = time.Hour
	for i, k := range []string{"a", "b", "c"} {
		if err := logPut(c, k, strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if v := rawValue(t, c, "a"); v != "" {
		t.Fatalf("the database holds a=%q before the fold", v)
	}
	crashed := crashCopy(t, path)
	if v := value(t, c, "c"); v != "2" {
		t.Fatalf("View: c=%q, want 2", v)
	}
	if v := rawValue(t, c, "a"); v != "0" {
		t.Fatalf("after View's fold the database holds a=%q, want 0", v)
	}
	r := &replayer{}
	mustOpenLogged(t, crashed, r)
	if got := r.replayed(); !slices.Equal(got, []string{"a=0", "b=1", "c=2"}) {
		t.Fatalf("replayed %q, want [a=0 b=1 c=2]", got)
	}
}

// Without a reader, the hold ends on its own and the writes are folded.
func TestHeldFoldEndsWithoutAReader(t *testing.T) {
	c := mustOpenLogged(t, filepath.Join(t.TempDir(), "db"), &replayer{})
	if err := logPut(c, "a", "1"); err != nil {
		t.Fatal(err)
	}
	testwait.Until(t, "the fold", 10*time.Second, func() error {
		if v := rawValue(t, c, "a"); v != "1" {
			return fmt.Errorf("the database holds a=%q", v)
		}
		return nil
	})
}

// A Log write that fails in a held transaction fails alone: the writes
// released before it stay (folded again from their records), it stores
// nothing, and the log goes on without a gap.
func TestFailingWriteInAHeldFold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := mustOpenLogged(t, path, &replayer{})
	c.holdFor = time.Hour
	if err := logPut(c, "a", "1"); err != nil {
		t.Fatal(err)
	}
	bad := errors.New("bad write")
	err := c.Log([]byte("bad=1"), func(tx *bolt.Tx) error {
		if err := applyRec(tx, []byte("bad=1")); err != nil {
			return err
		}
		return bad
	})
	if !errors.Is(err, bad) {
		t.Fatalf("the failing write: %v", err)
	}
	if v := rawValue(t, c, "a"); v != "1" {
		t.Fatalf("the write released before the failure: a=%q in the database, want 1", v)
	}
	if err := logPut(c, "b", "2"); err != nil {
		t.Fatal(err)
	}
	crashed := crashCopy(t, path)
	if value(t, c, "bad") != "" || value(t, c, "b") != "2" {
		t.Fatalf("after the failure: bad=%q b=%q", value(t, c, "bad"), value(t, c, "b"))
	}
	r := &replayer{}
	c2 := mustOpenLogged(t, crashed, r)
	if got := r.replayed(); !slices.Equal(got, []string{"b=2"}) {
		t.Fatalf("replayed %q, want [b=2]", got)
	}
	if value(t, c2, "a") != "1" || value(t, c2, "bad") != "" {
		t.Fatal("the crash copy lost the refolded write or kept the failed one")
	}
}

// Concurrent Log writes, some joining a held transaction themselves and
// some queued behind a joiner, all end up stored, in the database after
// the folds and in a crash copy's replay alike.
func TestConcurrentWritesAcrossHeldFolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := mustOpenLogged(t, path, &replayer{})
	c.holdFor = 2 * time.Millisecond
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				if err := logPut(c, fmt.Sprintf("%d-%d", g, i), strconv.Itoa(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	crashed := crashCopy(t, path)
	c2 := mustOpenLogged(t, crashed, &replayer{})
	for g := range writers {
		for i := range each {
			k := fmt.Sprintf("%d-%d", g, i)
			if v := value(t, c, k); v != strconv.Itoa(i) {
				t.Fatalf("%s=%q after the folds", k, v)
			}
			if v := value(t, c2, k); v != strconv.Itoa(i) {
				t.Fatalf("%s=%q in the crash copy", k, v)
			}
		}
	}
}

// An Update, Close and a log about to outgrow its preallocated size each
// end the hold: what was held is then in the database, not only the log.
func TestHeldFoldEndsEarly(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, c *Committer)
	}{
		{"update", func(t *testing.T, c *Committer) {
			if err := c.Update(put("u")); err != nil {
				t.Fatal(err)
			}
		}},
		{"close", func(t *testing.T, c *Committer) {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
		}},
		{"log size", func(t *testing.T, c *Committer) {
			big := append([]byte("big="), bytes.Repeat([]byte("v"), preallocate-16)...)
			if err := c.Log(big, func(tx *bolt.Tx) error { return applyRec(tx, big) }); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustOpenLogged(t, filepath.Join(t.TempDir(), "db"), &replayer{})
			c.holdFor = time.Hour
			if err := logPut(c, "a", "1"); err != nil {
				t.Fatal(err)
			}
			tc.end(t, c)
			testwait.Until(t, "the fold", 10*time.Second, func() error {
				if v := rawValue(t, c, "a"); v != "1" {
					return fmt.Errorf("the database holds a=%q", v)
				}
				return nil
			})
		})
	}
}

// Records written are read back in order; anything else in the file is a
// clean end of the chain.
func TestRecordsRoundTrip(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := &logFile{f: f}
	want := [][]byte{[]byte("a"), bytes.Repeat([]byte("b"), 5000), []byte("c")}
	if err := l.appendRecords(7, want[:2]); err != nil {
		t.Fatal(err)
	}
	if err := l.appendRecords(9, want[2:]); err != nil {
		t.Fatal(err)
	}
	info, _ := f.Stat()
	got, err := readRecords(f, info.Size())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records read, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.seq != uint64(7+i) || !bytes.Equal(r.payload, want[i]) {
			t.Fatalf("record %d: %d %q", i, r.seq, r.payload)
		}
	}
	if err := l.appendRecords(1, [][]byte{nil}); err == nil {
		t.Fatal("an empty record was written")
	}
}

// A record over MaxRecord is not logged: its write commits into the
// database before Log returns, so a crash copy taken then holds it
// without the log, and the log has not grown. An empty record is refused.
func TestOversizedRecordCommitsUnlogged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := mustOpenLogged(t, path, &replayer{})
	big := bytes.Repeat([]byte("v"), MaxRecord)
	rec := append([]byte("big="), big...)
	if err := c.Log(rec, func(tx *bolt.Tx) error { return applyRec(tx, rec) }); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path + ".test.log")
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() > int64(MaxRecord) {
		t.Fatalf("log of %d bytes holds the oversized record", info.Size())
	}
	r := &replayer{}
	copied := mustOpenLogged(t, crashCopy(t, path), r)
	if got := value(t, copied, "big"); got != string(big) {
		t.Fatalf("crash copy holds %d bytes under big, want %d", len(got), len(big))
	}
	if seen := r.replayed(); len(seen) != 0 {
		t.Fatalf("%d records replayed, want none", len(seen))
	}
	if err := c.Log(nil, func(*bolt.Tx) error { return nil }); err == nil {
		t.Fatal("an empty record was accepted")
	}
}

// LogMessage logs m's protobuf encoding: a crash before the fold replays
// exactly those bytes.
func TestLogMessageRecordsTheEncoding(t *testing.T) {
	path := filepath.Join(t.TempDir(), "db")
	c := mustOpenLogged(t, path, &replayer{})
	m := wrapperspb.Bytes([]byte("a=1"))
	want, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	appended := make(chan string, 1)
	c.afterAppend = func() { appended <- crashCopy(t, path) }
	if err := c.LogMessage(m, func(tx *bolt.Tx) error { return applyRec(tx, want) }); err != nil {
		t.Fatal(err)
	}
	r := &replayer{}
	mustOpenLogged(t, <-appended, r)
	if got := r.replayed(); !slices.Equal(got, []string{string(want)}) {
		t.Fatalf("replayed %q, want %q", got, want)
	}
}

func FuzzReadRecords(f *testing.F) {
	var buf bytes.Buffer
	for i, p := range [][]byte{[]byte("a=1"), []byte("bb=22")} {
		var hdr [headerSize]byte
		hdr[3] = byte(len(p))
		hdr[15] = byte(i + 1)
		c := checksum(hdr[0:4], hdr[8:16], p)
		hdr[4], hdr[5], hdr[6], hdr[7] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
		buf.Write(hdr[:])
		buf.Write(p)
	}
	f.Add(buf.Bytes())
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := readRecords(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for i, r := range recs {
			total += headerSize + len(r.payload)
			if len(r.payload) == 0 || (i > 0 && r.seq != recs[i-1].seq+1) {
				t.Fatalf("record %d: %d bytes, number %d", i, len(r.payload), r.seq)
			}
		}
		if total > len(b) {
			t.Fatalf("%d bytes of records read from %d", total, len(b))
		}
		// Every record read is exactly what the file holds at its place.
		off := 0
		for _, r := range recs {
			if !bytes.Equal(b[off+headerSize:off+headerSize+len(r.payload)], r.payload) {
				t.Fatal("a record's payload is not the file's bytes")
			}
			off += headerSize + len(r.payload)
		}
	})
}

// BenchmarkLoneWrite is a lone writer's wait for a durable small write:
// Update (bbolt's commit, two fdatasyncs) against Log (one append and one
// fdatasync; the fold follows off the writer's path), the fold waited for
// off the clock; then Log writes 2 ms apart, as one query's writes come,
// with the fold held open for FoldAfter (each write handed to the
// goroutine holding the transaction) or not held at all.
func BenchmarkLoneWrite(b *testing.B) {
	v := bytes.Repeat([]byte{'v'}, 600)
	for _, mode := range []string{"update", "log", "spaced/unheld", "spaced/held"} {
		b.Run(mode, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "db")
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket(bucket); return err }); err != nil {
				b.Fatal(err)
			}
			c, err := Open(db, "test", applyRec)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if mode == "spaced/unheld" {
				c.holdFor = 0
			}
			var waited time.Duration
			n := 0
			for ; b.Loop(); n++ {
				rec := append([]byte(fmt.Sprint(n%1000, "=")), v...)
				fn := func(tx *bolt.Tx) error { return applyRec(tx, rec) }
				start := time.Now()
				if mode == "update" {
					err = c.Update(fn)
				} else {
					err = c.Log(rec, fn)
				}
				waited += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				// The next write comes a while later, outside the write's
				// wait: after the fold, or 2 ms on. (Timed by hand: the
				// benchmark's StopTimer reads the memory statistics, a
				// stop of the world, each time.)
				if strings.HasPrefix(mode, "spaced/") {
					time.Sleep(2 * time.Millisecond)
				} else if err := c.View(func(*bolt.Tx) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(waited.Nanoseconds())/1e3/float64(n), "µs/write")
		})
	}
}
