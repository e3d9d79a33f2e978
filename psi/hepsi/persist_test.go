package hepsi

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

func persisted(t testing.TB, db *Database) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := db.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo reported %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

// A database read back answers as the one written, takes updates as it
// would have, and writes the same bytes again.
func TestPersistRoundTrip(t *testing.T) {
	p := testParams(t, 16)
	items := randomItems(t, 1500, MinItemSize)
	labels := randomItems(t, len(items), 16)
	db, r, listed := listedDB(t, p, items[:1400], labels[:1400])
	// A removal leaves holes and shorter bins, as a live list does.
	if err := db.Remove(items[:100]); err != nil {
		t.Fatal(err)
	}
	for _, it := range items[:100] {
		delete(listed, string(it))
	}
	enc := persisted(t, db)

	back, err := ReadDatabase(bytes.NewReader(enc), int64(len(enc)), p)
	if err != nil {
		t.Fatal(err)
	}
	if back.Len() != db.Len() {
		t.Fatalf("read back %d items, wrote %d", back.Len(), db.Len())
	}
	if again := persisted(t, back); !bytes.Equal(again, enc) {
		t.Fatal("the database read back writes other bytes")
	}
	batch := append(slices.Clone(items[50:150]), items[1400:1450]...)
	checkAgainstPlain(t, roundTrip(t, back, r, batch), batch, listed)
	// Kept-encoded labels are encoded again on reading.
	encoded, err := ReadDatabase(bytes.NewReader(enc), int64(len(enc)), p, WithEncodedLabels())
	if err != nil {
		t.Fatal(err)
	}
	checkAgainstPlain(t, roundTrip(t, encoded, r, batch), batch, listed)

	// The same updates on both give the same database.
	for _, d := range []*Database{db, back} {
		if err := d.Add(items[1400:], labels[1400:]); err != nil {
			t.Fatal(err)
		}
		if err := d.Remove(items[200:300]); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(persisted(t, db), persisted(t, back)) {
		t.Fatal("updates applied to the database read back give another database")
	}
	for i := 1400; i < 1500; i++ {
		listed[string(items[i])] = labels[i]
	}
	for _, it := range items[200:300] {
		delete(listed, string(it))
	}
	checkAgainstPlain(t, roundTrip(t, back, r, batch), batch, listed)

}

// pausingWriter counts its writes and holds the pause-th (if pause > 0)
// until resume is closed, closing paused first.
type pausingWriter struct {
	buf            bytes.Buffer
	writes, pause  int
	paused, resume chan struct{}
}

func (w *pausingWriter) Write(b []byte) (int, error) {
	if w.writes++; w.writes == w.pause {
		close(w.paused)
		<-w.resume
	}
	return w.buf.Write(b)
}

// WriteTo writes the database as it stood when it began, without holding
// updates back: with the write held at its start, among the bins' entries
// and among the last coefficient vectors, an Add and a Remove complete
// meanwhile, the bytes are exactly those of the database before them, and
// the database answers with the updates and writes them next time.
func TestPersistWhileUpdating(t *testing.T) {
	p := testParams(t, 16)
	items := randomItems(t, 1200, MinItemSize)
	labels := randomItems(t, len(items), 16)
	for _, at := range []struct {
		name  string
		pause func(writes int) int // which write to hold, of the writes a database takes
	}{
		{"start", func(int) int { return 1 }},
		{"bins", func(n int) int { return n / 3 }},
		{"coefficients", func(n int) int { return n - 2 }},
	} {
		t.Run(at.name, func(t *testing.T) {
			db, r, listed := listedDB(t, p, items[:1000], labels[:1000])
			count := &pausingWriter{}
			if _, err := db.WriteTo(count); err != nil {
				t.Fatal(err)
			}
			before, pause := count.buf.Bytes(), at.pause(count.writes)
			w := &pausingWriter{pause: pause, paused: make(chan struct{}), resume: make(chan struct{})}
			written := make(chan error, 1)
			go func() {
				_, err := db.WriteTo(w)
				written <- err
			}()
			select {
			case <-w.paused:
			case err := <-written:
				t.Fatalf("WriteTo ended (%v) after %d writes, before write %d", err, w.writes, pause)
			}
			updated := make(chan error, 1)
			go func() {
				err := db.Add(items[1000:], labels[1000:])
				if err == nil {
					err = db.Remove(items[:100])
				}
				updated <- err
			}()
			select {
			case err := <-updated:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(time.Minute):
				t.Fatal("the updates are still waiting for the snapshot being written")
			}
			close(w.resume)
			if err := <-written; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w.buf.Bytes(), before) {
				t.Fatal("the snapshot written during updates is not the database as it stood when the write began")
			}
			for i := 1000; i < len(items); i++ {
				listed[string(items[i])] = labels[i]
			}
			for _, it := range items[:100] {
				delete(listed, string(it))
			}
			batch := append(slices.Clone(items[50:150]), items[1100:1150]...)
			checkAgainstPlain(t, roundTrip(t, db, r, batch), batch, listed)
			after := persisted(t, db)
			back, err := ReadDatabase(bytes.NewReader(after), int64(len(after)), p)
			if err != nil {
				t.Fatal(err)
			}
			if back.Len() != 1100 {
				t.Fatalf("the next snapshot reads back %d items, want 1100", back.Len())
			}
			checkAgainstPlain(t, roundTrip(t, back, r, batch), batch, listed)
		})
	}
}

// ReadDatabase refuses, without panicking, a database cut short, under
// other parameters, beyond its byte budget, or with a polynomial that
// does not fit its bin.
func TestPersistRefuses(t *testing.T) {
	p := testParams(t, 16)
	items := randomItems(t, 200, MinItemSize)
	db, _, _ := listedDB(t, p, items, randomItems(t, len(items), 16))
	enc := persisted(t, db)
	read := func(data []byte, limit int64, q Params) error {
		_, err := ReadDatabase(bytes.NewReader(data), limit, q)
		return err
	}
	for _, cut := range []int{0, 1, 3, 10, len(enc) / 2, len(enc) - 1} {
		if err := read(enc[:cut], int64(len(enc)), p); err == nil {
			t.Fatalf("accepted the first %d of %d bytes", cut, len(enc))
		}
	}
	if err := read(enc, int64(len(enc)-1), p); !errors.Is(err, ErrLimit) {
		t.Fatalf("one byte over the budget: %v, want ErrLimit", err)
	}
	other := p
	other.MaxBundles++
	if err := read(enc, int64(len(enc)), other); !errors.Is(err, ErrMismatch) {
		t.Fatalf("other parameters: %v, want ErrMismatch", err)
	}
	bad := slices.Clone(enc)
	bad[0] = 2
	if err := read(bad, int64(len(bad)), p); !errors.Is(err, ErrVersion) {
		t.Fatalf("version 2: %v, want ErrVersion", err)
	}
	// The last packed value is the top coefficient of the last label
	// polynomial for the last slot: at the bundle's degree, so zero in
	// every bin. Setting it breaks the shape.
	bad = slices.Clone(enc)
	bad[len(bad)-1] |= 0x01
	if err := read(bad, int64(len(bad)), p); !errors.Is(err, ErrMalformed) {
		t.Fatalf("label coefficient above the degree: %v, want ErrMalformed", err)
	}
}

// FuzzReadDatabase mutates a real persisted database: whatever reads must
// write back to exactly the bytes it consumed.
func FuzzReadDatabase(f *testing.F) {
	p := testParams(f, 16)
	db, err := NewDatabase(p)
	if err != nil {
		f.Fatal(err)
	}
	if err := db.Add(randomItems(f, 20, MinItemSize), randomItems(f, 20, 16)); err != nil {
		f.Fatal(err)
	}
	enc := persisted(f, db)
	f.Add(enc)
	f.Add(enc[:200])
	empty, err := NewDatabase(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(persisted(f, empty))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		back, err := ReadDatabase(r, int64(len(data)), p)
		if err != nil {
			return
		}
		consumed := data[:len(data)-r.Len()]
		if again := persisted(t, back); !bytes.Equal(again, consumed) {
			t.Fatal("accepted a non-canonical database")
		}
	})
}

// TestSnapshotDuringAnswer: a snapshot starts while an answer runs (the
// read lock held, as Answer holds it) without waiting for it to end, so a
// provider freezing its database under its own update lock does not hold
// that lock for an answer's duration; an update then waits for the
// answer, not for the snapshot, and the snapshot writes the database as
// it stood before the update.
func TestSnapshotDuringAnswer(t *testing.T) {
	p := testParams(t, 16)
	items := randomItems(t, 300, MinItemSize)
	labels := randomItems(t, len(items), 16)
	db, _, _ := listedDB(t, p, items[:200], labels[:200])
	want := persisted(t, db)
	db.mu.RLock() // an answer running
	snapped := make(chan *Snapshot, 1)
	go func() { snapped <- db.Snapshot() }()
	var snap *Snapshot
	select {
	case snap = <-snapped:
	case <-time.After(time.Minute):
		t.Fatal("Snapshot waits for the running answer")
	}
	updated := make(chan error, 1)
	go func() { updated <- db.Add(items[200:], labels[200:]) }()
	db.mu.RUnlock()
	if err := <-updated; err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	snap.Release()
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatal("the snapshot taken during an answer is not the database as it stood")
	}
	if db.Len() != len(items) {
		t.Fatalf("database holds %d items after the update, want %d", db.Len(), len(items))
	}
}
