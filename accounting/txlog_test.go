package accounting_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
)

// populate runs the conformance scenario on a new ledger at path and closes
// it, returning the verified log head.
func populate(t *testing.T, path string) accounting.LogHead {
	t.Helper()
	store := openStore(t, path)
	ledgertest.Run(t, harness(t, store))
	head, err := store.VerifyLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if head.Sequence < 50 {
		t.Fatalf("log holds %d records after the scenario", head.Sequence)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	return head
}

func TestEmbeddedSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	head := populate(t, path)

	store := openStore(t, path)
	defer store.Close()
	again, err := store.VerifyLog(context.Background())
	if err != nil || again != head {
		t.Fatalf("after reopening: head %+v, %v; want %+v", again, err, head)
	}
	l, err := store.As(ledgertest.Bank2MSP)
	if err != nil {
		t.Fatal(err)
	}
	insts, err := l.Institutions(context.Background())
	if err != nil || len(insts) != 4 {
		t.Fatalf("registry after reopening: %d institutions, %v", len(insts), err)
	}
	p, err := l.Period(context.Background(), 0)
	if err != nil || p.State != accounting.PeriodOpen || p.Number < 2 {
		t.Fatalf("current period after reopening: %+v, %v", p, err)
	}
	// New transactions extend the same chain.
	if err := l.UpdateProfile(context.Background(), accounting.Profile{Endpoint: "after-restart:1"}); err != nil {
		t.Fatal(err)
	}
	next, err := store.VerifyLog(context.Background())
	if err != nil || next.Sequence != head.Sequence+1 {
		t.Fatalf("after one more transaction: %+v, %v", next, err)
	}
	// Queries and rejected transactions leave no record.
	if err := l.AddInstitution(context.Background(), "Bank9MSP", "x", nil); !errors.Is(err, accounting.ErrForbidden) {
		t.Fatalf("AddInstitution as a bank: %v", err)
	}
	if same, _ := store.VerifyLog(context.Background()); same != next {
		t.Fatal("a rejected transaction was logged")
	}
}

func TestEmbeddedRegulatorIsFixed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	openStore(t, path).Close()
	if _, err := accounting.OpenEmbedded(path, accounting.EmbeddedConfig{Regulator: "OtherMSP"}); err == nil {
		t.Fatal("reopened with a different regulator")
	}
}

func TestEmbeddedClosed(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "ledger.db"))
	l, err := store.As(ledgertest.Bank1MSP)
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
	if _, err := l.Prices(context.Background()); !errors.Is(err, accounting.ErrClosed) {
		t.Fatalf("query after Close: %v", err)
	}
	if _, err := store.VerifyLog(context.Background()); !errors.Is(err, accounting.ErrClosed) {
		t.Fatalf("VerifyLog after Close: %v", err)
	}
}

func TestVerifyLogDetectsTampering(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	populate(t, path)
	pristine := filepath.Join(t.TempDir(), "pristine.db")
	copyFile(t, path, pristine)

	seqKey := func(n uint64) []byte {
		var k [8]byte
		binary.BigEndian.PutUint64(k[:], n)
		return k[:]
	}
	tests := []struct {
		name   string
		tamper func(log, meta *bolt.Bucket) error
	}{
		{"ChangedCaller", func(log, _ *bolt.Bucket) error {
			v := bytes.Clone(log.Get(seqKey(3)))
			i := bytes.Index(v, []byte(ledgertest.RegulatorMSP))
			copy(v[i:], "Bank1MSP")
			return log.Put(seqKey(3), v)
		}},
		{"ChangedWritesDigest", func(log, _ *bolt.Bucket) error {
			v := bytes.Clone(log.Get(seqKey(10)))
			v[len(v)-40] ^= 1
			return log.Put(seqKey(10), v)
		}},
		{"DeletedRecord", func(log, _ *bolt.Bucket) error { return log.Delete(seqKey(7)) }},
		{"DroppedLastRecord", func(log, _ *bolt.Bucket) error {
			k, _ := log.Cursor().Last()
			return log.Delete(k)
		}},
		{"TrailingByte", func(log, _ *bolt.Bucket) error {
			return log.Put(seqKey(5), append(bytes.Clone(log.Get(seqKey(5))), 0))
		}},
		{"ForgedHead", func(_, meta *bolt.Bucket) error {
			v := bytes.Clone(meta.Get([]byte("head")))
			v[39] ^= 1
			return meta.Put([]byte("head"), v)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			copyFile(t, pristine, path)
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error { return tc.tamper(tx.Bucket([]byte("log")), tx.Bucket([]byte("meta"))) })
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := accounting.VerifyLogFile(context.Background(), path, nil); !errors.Is(err, accounting.ErrLogTampered) {
				t.Fatalf("VerifyLogFile after tampering: %v", err)
			}
			store := openStore(t, path)
			defer store.Close()
			if _, err := store.VerifyLog(context.Background()); !errors.Is(err, accounting.ErrLogTampered) {
				t.Fatalf("VerifyLog after tampering: %v", err)
			}
		})
	}
}

// VerifyLogFile checks a copy without changing it and, given a head taken
// earlier, that the copy's chain runs through it.
func TestVerifyLogFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	earlier := populate(t, path)
	store := openStore(t, path)
	l, err := store.As(ledgertest.Bank2MSP)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.UpdateProfile(ctx, accounting.Profile{Endpoint: "later:1"}); err != nil {
		t.Fatal(err)
	}
	head, err := store.VerifyLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounting.VerifyLogFile(ctx, path, nil); err == nil || !strings.Contains(err.Error(), "locked by a running process") {
		t.Fatalf("VerifyLogFile of the live file: %v", err)
	}
	store.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	wrongHash := earlier
	wrongHash.Hash[0] ^= 1
	tests := []struct {
		name     string
		earlier  *accounting.LogHead
		tampered bool
	}{
		{"NoEarlierHead", nil, false},
		{"SameHead", &head, false},
		{"ExtendsEarlierHead", &earlier, false},
		{"EmptyHead", &accounting.LogHead{}, false},
		{"WrongHash", &wrongHash, true},
		{"BeyondTheEnd", &accounting.LogHead{Sequence: head.Sequence + 1, Hash: head.Hash}, true},
		{"EmptyHeadWithHash", &accounting.LogHead{Hash: head.Hash}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := accounting.VerifyLogFile(ctx, path, tc.earlier)
			if tc.tampered {
				if !errors.Is(err, accounting.ErrLogTampered) {
					t.Fatalf("VerifyLogFile = %+v, %v; want ErrLogTampered", got, err)
				}
				return
			}
			if err != nil || got != head {
				t.Fatalf("VerifyLogFile = %+v, %v; want %+v", got, err, head)
			}
		})
	}
	after, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("VerifyLogFile changed the file (%v)", err)
	}

	t.Run("NotALedger", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "node.db")
		db, err := bolt.Open(other, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if _, err := accounting.VerifyLogFile(ctx, other, nil); err == nil || !strings.Contains(err.Error(), "not an embedded ledger") {
			t.Fatalf("VerifyLogFile of another bbolt file: %v", err)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		if _, err := accounting.VerifyLogFile(ctx, filepath.Join(t.TempDir(), "none.db"), nil); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("VerifyLogFile of a missing file: %v", err)
		}
	})
}

// WriteTo copies a consistent ledger while transactions commit: the copy's
// log verifies and ends at a head the live log runs through.
func TestEmbeddedWriteTo(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ledger.db")
	populate(t, path)
	store := openStore(t, path)
	defer store.Close()
	l, err := store.As(ledgertest.Bank2MSP)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for i := range 1 << 20 {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := l.UpdateProfile(ctx, accounting.Profile{Endpoint: fmt.Sprintf("moving:%d", i)}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	var heads []accounting.LogHead
	for i := range 3 {
		var buf bytes.Buffer
		n, err := store.WriteTo(&buf)
		if err != nil || n != int64(buf.Len()) {
			t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, buf.Len())
		}
		cp := filepath.Join(t.TempDir(), fmt.Sprintf("copy-%d.db", i))
		if err := os.WriteFile(cp, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		head, err := accounting.VerifyLogFile(ctx, cp, nil)
		if err != nil {
			t.Fatalf("copy %d: %v", i, err)
		}
		heads = append(heads, head)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	store.Close()
	for _, h := range heads {
		if _, err := accounting.VerifyLogFile(ctx, path, &h); err != nil {
			t.Fatalf("live log does not run through a copy's head %d: %v", h.Sequence, err)
		}
	}
	if _, err := store.WriteTo(io.Discard); !errors.Is(err, accounting.ErrClosed) {
		t.Fatalf("WriteTo after Close: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	db, err := bolt.Open(from, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error { return tx.CopyFile(to, 0o600) }); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseLogRecord(f *testing.F) {
	rec := accounting.LogRecord{Sequence: 7, TxID: "00aa", Caller: "Bank1MSP", Function: "Record"}
	rec.ArgsDigest[0], rec.WritesDigest[1], rec.PrevHash[2] = 1, 2, 3
	enc, err := rec.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(enc)
	f.Add(enc[:len(enc)-1])
	f.Add(append(bytes.Clone(enc), 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := accounting.ParseLogRecord(data)
		if err != nil {
			if !errors.Is(err, accounting.ErrLogTampered) {
				t.Fatalf("error %v does not wrap ErrLogTampered", err)
			}
			return
		}
		again, err := r.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("round trip: %x -> %x, %v", data, again, err)
		}
	})
}
