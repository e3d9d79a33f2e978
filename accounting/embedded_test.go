package accounting_test

import (
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/ledgertest"
	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// identity returns a ledgertest identity over store with a fresh key.
func identity(t testing.TB, store *accounting.EmbeddedStore, msp string) ledgertest.Identity {
	t.Helper()
	key, pub, err := ecsig.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	l, err := store.As(msp)
	if err != nil {
		t.Fatal(err)
	}
	return ledgertest.Identity{MSPID: msp, Ledger: l, Sign: ecsig.NewSigner(key, rand.Reader), PublicKey: pub}
}

func harness(t testing.TB, store *accounting.EmbeddedStore) ledgertest.Harness {
	t.Helper()
	return ledgertest.Harness{
		Regulator: identity(t, store, ledgertest.RegulatorMSP),
		Bank1:     identity(t, store, ledgertest.Bank1MSP),
		Bank2:     identity(t, store, ledgertest.Bank2MSP),
		Bank3:     identity(t, store, ledgertest.Bank3MSP),
	}
}

func openStore(t testing.TB, path string) *accounting.EmbeddedStore {
	t.Helper()
	store, err := accounting.OpenEmbedded(path, accounting.EmbeddedConfig{Regulator: ledgertest.RegulatorMSP})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

func TestEmbeddedConformance(t *testing.T) {
	store := openStore(t, filepath.Join(t.TempDir(), "ledger.db"))
	defer store.Close()
	ledgertest.Run(t, harness(t, store))
	// The scenario copes with a ledger a previous run left behind.
	t.Run("SecondRun", func(t *testing.T) { ledgertest.Run(t, harness(t, store)) })
}

func TestEmbeddedEvents(t *testing.T) {
	var names []string
	store, err := accounting.OpenEmbedded(filepath.Join(t.TempDir(), "ledger.db"), accounting.EmbeddedConfig{
		OnEvent: func(name string, payload []byte) {
			if len(payload) == 0 {
				t.Errorf("event %s without payload", name)
			}
			names = append(names, name)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ledgertest.Run(t, harness(t, store))
	count := map[string]int{}
	for _, n := range names {
		count[n]++
	}
	for _, n := range []string{"riskmesh.record", "riskmesh.reverse", "riskmesh.settle"} {
		if count[n] == 0 {
			t.Errorf("no %s event (got %v)", n, count)
		}
	}
}
