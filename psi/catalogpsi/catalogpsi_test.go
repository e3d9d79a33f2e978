package catalogpsi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// seeded is a deterministic randomness source for reproducible tests.
func seeded(seed uint64) *mrand.ChaCha8 {
	var s [32]byte
	s[0] = byte(seed)
	return mrand.NewChaCha8(s)
}

// phones returns n distinct canonical phone identifiers starting at first.
func phones(first, n int) []ident.ID {
	ids := make([]ident.ID, n)
	for i := range ids {
		ids[i] = ident.ID{Type: ident.Type("phone"), Value: fmt.Sprintf("+86138%08d", first+i)}
	}
	return ids
}

func labelFor(i int) catalog.Label {
	l := catalog.Label{Category: 1 + uint8(i%3), Reason: uint16(i), Listed: catalog.Date(19000 + i%1000)}
	l.Reference[7] = byte(i)
	return l
}

func entriesOf(ids []ident.ID) iter.Seq[Entry] {
	return func(yield func(Entry) bool) {
		for i, id := range ids {
			if !yield(Entry{ID: id, Label: labelFor(i)}) {
				return
			}
		}
	}
}

type fixture struct {
	key      *oprf.PrivateKey
	provider *Provider
	catalog  *catalog.Catalog
	listed   []ident.ID
}

func newFixture(t testing.TB, listSize int) *fixture {
	t.Helper()
	key, err := oprf.GenerateKey(seeded(1))
	if err != nil {
		t.Fatal(err)
	}
	p := NewProvider("Bank1MSP", key)
	listed := phones(0, listSize)
	var progress []int
	cat, err := p.BuildCatalog(context.Background(), seeded(2), "black", 7, entriesOf(listed), listSize,
		func(done int) { progress = append(progress, done) })
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) == 0 || progress[len(progress)-1] != listSize || !slices.IsSorted(progress) {
		t.Fatalf("progress reports %v, want increasing counts ending at %d", progress, listSize)
	}
	return &fixture{key: key, provider: p, catalog: cat, listed: listed}
}

// query runs one batch through the whole protocol with an honest provider.
func (f *fixture) query(t *testing.T, r *Requester, ids []ident.ID) []Result {
	t.Helper()
	results, err := f.resolve(t, r, ids)
	if err != nil {
		t.Fatal(err)
	}
	return results
}

// resolve runs one batch through the whole protocol with an honest
// provider and returns what Resolve returns.
func (f *fixture) resolve(t *testing.T, r *Requester, ids []ident.ID) ([]Result, error) {
	t.Helper()
	q, blinded, err := r.Blind(seeded(3), ids)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := f.provider.Evaluator("black", 7)
	if err != nil {
		t.Fatal(err)
	}
	evaluated, proof, err := ev.BlindEvaluate(seeded(4), blinded)
	if err != nil {
		t.Fatal(err)
	}
	return r.Resolve(q, evaluated, proof[:])
}

// openBeyondBudget writes the fixture's catalog to a read-only file and
// opens it beyond the resident budget, which stays at one byte until the
// test ends (look-ups could otherwise claim it), so that its slots are
// read from the file. It returns the catalog and the file's path.
func (f *fixture) openBeyondBudget(t *testing.T) (*catalog.Catalog, string) {
	t.Helper()
	var enc bytes.Buffer
	digest, err := f.catalog.Encode(&enc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.cat")
	if err := os.WriteFile(path, enc.Bytes(), 0o400); err != nil {
		t.Fatal(err)
	}
	catalog.SetResidentBudget(1)
	t.Cleanup(func() { catalog.SetResidentBudget(0) })
	opened, err := catalog.Open(path, catalog.DecodeConfig{ExpectedDigest: &digest})
	if err != nil {
		t.Fatal(err)
	}
	if opened.InMemory() {
		t.Fatal("the catalog opened beyond the budget is read in memory")
	}
	return opened, path
}

// TestQueryFindsExactlyTheListedIdentifiers runs one batch of listed and
// unlisted identifiers against the catalog held in the heap and opened
// beyond the resident budget (its slots read from the file in batches,
// catalog.LookupAll): both answer exactly the listed ones, with their
// labels.
func TestQueryFindsExactlyTheListedIdentifiers(t *testing.T) {
	f := newFixture(t, 5000)
	onDisk, _ := f.openBeyondBudget(t)
	for _, held := range []struct {
		name string
		cat  *catalog.Catalog
	}{{"heap", f.catalog}, {"on disk", onDisk}} {
		t.Run(held.name, func(t *testing.T) {
			r, err := NewRequester("Bank1MSP", f.key.Public(), "black", 7, held.cat)
			if err != nil {
				t.Fatal(err)
			}
			// Listed identifiers 100..149 and 4990..4999, 200 that are not
			// listed, then listed 1000..1399: past 2·minLookUpShare, so the
			// look-ups run on two cores or more, in chunks of lookUpChunk and
			// shorter at the end, with hits in several chunks.
			batch := slices.Concat(f.listed[100:150], phones(90000, 100), f.listed[4990:], phones(95000, 100), f.listed[1000:1400])
			results := f.query(t, r, batch)
			if len(results) != len(batch) {
				t.Fatalf("got %d results for %d identifiers", len(results), len(batch))
			}
			for i, res := range results {
				var want Result
				switch {
				case i < 50:
					want = Result{Hit: true, Label: labelFor(100 + i)}
				case i >= 150 && i < 160:
					want = Result{Hit: true, Label: labelFor(4990 + i - 150)}
				case i >= 260:
					want = Result{Hit: true, Label: labelFor(1000 + i - 260)}
				}
				if res != want {
					t.Errorf("identifier %d: got %+v, want %+v", i, res, want)
				}
			}
		})
	}
}

func TestQueryAgainstDecodedCatalog(t *testing.T) {
	f := newFixture(t, 300)
	var wire bytes.Buffer
	digest, err := f.catalog.Encode(&wire)
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := catalog.Decode(&wire, catalog.DecodeConfig{ExpectedDigest: &digest})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRequester("Bank1MSP", f.key.Public(), "black", 7, decoded)
	if err != nil {
		t.Fatal(err)
	}
	results := f.query(t, r, f.listed[:3])
	for i, res := range results {
		if !res.Hit || res.Label != labelFor(i) {
			t.Errorf("identifier %d: got %+v, want hit with %+v", i, res, labelFor(i))
		}
	}
}

// TestResolveFailsOnUnreadableCatalog plays a disk or process that cuts a
// held catalog's file short after it was opened and verified, with the
// catalog read from its file (beyond the resident budget): Resolve must fail
// rather than report the listed identifiers as misses.
func TestResolveFailsOnUnreadableCatalog(t *testing.T) {
	f := newFixture(t, 300)
	opened, path := f.openBeyondBudget(t)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := NewRequester("Bank1MSP", f.key.Public(), "black", 7, opened)
	if err != nil {
		t.Fatal(err)
	}
	if results := f.query(t, r, f.listed[:3]); !results[0].Hit {
		t.Fatal("listed identifier missed before the damage")
	}
	if err := os.Truncate(path, 100); err != nil {
		t.Fatal(err)
	}
	if results, err := f.resolve(t, r, f.listed[:3]); !errors.Is(err, io.EOF) || results != nil {
		t.Fatalf("Resolve on a truncated catalog: %d results, error %v, want io.EOF", len(results), err)
	}
}

func TestNewRequesterRejectsForeignCatalog(t *testing.T) {
	f := newFixture(t, 10)
	other, err := oprf.GenerateKey(seeded(9))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		provider string
		key      *oprf.PublicKey
		category string
		period   uint64
	}{
		{"other provider", "Bank2MSP", f.key.Public(), "black", 7},
		{"other key", "Bank1MSP", other.Public(), "black", 7},
		{"other category", "Bank1MSP", f.key.Public(), "grey", 7},
		{"other period", "Bank1MSP", f.key.Public(), "black", 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRequester(tt.provider, tt.key, tt.category, tt.period, f.catalog)
			if !errors.Is(err, ErrCatalogMismatch) {
				t.Fatalf("NewRequester = %v, want ErrCatalogMismatch", err)
			}
		})
	}
}

// TestAdversaryResolveRejectsDishonestAnswers plays a provider answering
// with another key, another period, tampered elements or a proof under
// the wrong rule, under each blinding: Resolve returns no result, and the
// query still resolves the honest answer (the rejected one did not use up
// its blinds).
func TestAdversaryResolveRejectsDishonestAnswers(t *testing.T) {
	f := newFixture(t, 100)
	batch := f.listed[:8]
	rogueKey, _ := oprf.GenerateKey(seeded(10))

	tests := []struct {
		name   string
		answer func(blinded []byte) ([]byte, []byte)
	}{
		{"evaluated under another key", func(blinded []byte) ([]byte, []byte) {
			ev, _ := NewProvider("Bank1MSP", rogueKey).Evaluator("black", 7)
			e, p, _ := ev.BlindEvaluate(seeded(5), blinded)
			return e, p[:]
		}},
		{"evaluated for another period", func(blinded []byte) ([]byte, []byte) {
			ev, _ := f.provider.Evaluator("black", 6)
			e, p, _ := ev.BlindEvaluate(seeded(5), blinded)
			return e, p[:]
		}},
		{"elements swapped", func(blinded []byte) ([]byte, []byte) {
			ev, _ := f.provider.Evaluator("black", 7)
			e, p, _ := ev.BlindEvaluate(seeded(5), blinded)
			first := slices.Clone(e[:oprf.ElementSize])
			copy(e, e[oprf.ElementSize:2*oprf.ElementSize])
			copy(e[oprf.ElementSize:], first)
			return e, p[:]
		}},
		{"proof truncated", func(blinded []byte) ([]byte, []byte) {
			ev, _ := f.provider.Evaluator("black", 7)
			e, p, _ := ev.BlindEvaluate(seeded(5), blinded)
			return e, p[:oprf.ProofSize-1]
		}},
		{"honest evaluation proved under RFC 9497's rule", func(blinded []byte) ([]byte, []byte) {
			ev, _ := oprf.NewEvaluatorWithRule(f.key, Info("black", 7), oprf.ProofRFC9497)
			e, p, _ := ev.BlindEvaluate(seeded(5), blinded)
			return e, p[:]
		}},
		{"one element missing", func(blinded []byte) ([]byte, []byte) {
			ev, _ := f.provider.Evaluator("black", 7)
			e, p, _ := ev.BlindEvaluate(seeded(5), blinded)
			return e[oprf.ElementSize:], p[:]
		}},
	}
	honest, err := f.provider.Evaluator("black", 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, blinding := range []oprf.Blinding{oprf.BlindMultiplicative, oprf.BlindAdditive} {
		r, err := NewRequesterWithBlinding("Bank1MSP", f.key.Public(), "black", 7, f.catalog, blinding)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			for _, ahead := range []bool{false, true} {
				t.Run(fmt.Sprintf("%v/%s/precomputed %v", blinding, tt.name, ahead), func(t *testing.T) {
					q, blinded, err := r.Blind(seeded(3), batch)
					if err != nil {
						t.Fatal(err)
					}
					if ahead {
						// Unblinding computed while the answer is awaited
						// changes nothing a dishonest answer gets.
						q.PrecomputeUnblind()
					}
					evaluated, proof := tt.answer(blinded)
					results, err := r.Resolve(q, evaluated, proof)
					if err == nil || results != nil {
						t.Fatalf("Resolve = %d results, %v; want no results and an error", len(results), err)
					}
					good, goodProof, err := honest.BlindEvaluate(seeded(6), blinded)
					if err != nil {
						t.Fatal(err)
					}
					results, err = r.Resolve(q, good, goodProof[:])
					if err != nil {
						t.Fatalf("honest answer after a rejected one: %v", err)
					}
					for i, res := range results {
						if !res.Hit || res.Label != labelFor(i) {
							t.Fatalf("identifier %d: got %+v, want hit with %+v", i, res, labelFor(i))
						}
					}
				})
			}
		}
	}
}

// Both blindings find the same identifiers with the same labels.
func TestBlindingsResolveAlike(t *testing.T) {
	f := newFixture(t, 500)
	batch := slices.Concat(f.listed[10:60], phones(90000, 50))
	var got [][]Result
	for _, blinding := range []oprf.Blinding{oprf.BlindMultiplicative, oprf.BlindAdditive} {
		r, err := NewRequesterWithBlinding("Bank1MSP", f.key.Public(), "black", 7, f.catalog, blinding)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, f.query(t, r, batch))
	}
	for i := range batch {
		want := Result{}
		if i < 50 {
			want = Result{Hit: true, Label: labelFor(10 + i)}
		}
		if got[0][i] != want || got[1][i] != want {
			t.Fatalf("identifier %d: multiplicative %+v, additive %+v, want %+v", i, got[0][i], got[1][i], want)
		}
	}
	if _, err := NewRequesterWithBlinding("Bank1MSP", f.key.Public(), "black", 7, f.catalog, 0); !errors.Is(err, ErrBlinding) {
		t.Fatalf("NewRequesterWithBlinding(0) = %v, want ErrBlinding", err)
	}
}

func TestBlindRejectsEmptyBatch(t *testing.T) {
	f := newFixture(t, 10)
	r, err := NewRequester("Bank1MSP", f.key.Public(), "black", 7, f.catalog)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Blind(nil, nil); !errors.Is(err, ErrEmptyBatch) {
		t.Fatalf("Blind(nil) = %v, want ErrEmptyBatch", err)
	}
}

func TestBuildCatalogStopsWhenCancelled(t *testing.T) {
	key, _ := oprf.GenerateKey(seeded(1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewProvider("Bank1MSP", key).BuildCatalog(ctx, nil, "black", 7, entriesOf(phones(0, 10)), 10, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("BuildCatalog = %v, want context.Canceled", err)
	}
}

func TestInfo(t *testing.T) {
	if got, want := string(Info("grey", 20261122)), "riskmesh/v1|grey|20261122"; got != want {
		t.Fatalf("Info = %q, want %q", got, want)
	}
}
