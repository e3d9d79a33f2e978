package mirror

import (
	"bytes"
	"errors"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

func TestCheckInfo(t *testing.T) {
	key, err := oprf.GenerateKey(nil)
	must(t, err)
	other, err := oprf.GenerateKey(nil)
	must(t, err)
	w := &want{inst: accounting.Institution{MSPID: "P1MSP"}, category: testCategory, period: 3, key: key.Public()}
	copy(w.digest[:], bytes.Repeat([]byte{1}, 32))
	good := func() *riskmeshv1.CatalogInfo {
		id := key.Public().KeyID()
		return &riskmeshv1.CatalogInfo{Provider: "P1MSP", Category: testCategory, Period: 3, Suite: catalogpsi.Suite,
			KeyId: id[:], Items: 10, TotalLength: 500, Digest: w.digest[:]}
	}
	must(t, checkInfo(good(), w, 1<<20))
	otherID := other.Public().KeyID()
	tests := []struct {
		name   string
		change func(*riskmeshv1.CatalogInfo)
	}{
		{"other provider", func(i *riskmeshv1.CatalogInfo) { i.Provider = "P2MSP" }},
		{"other period", func(i *riskmeshv1.CatalogInfo) { i.Period = 4 }},
		{"digest not the ledger's", func(i *riskmeshv1.CatalogInfo) { i.Digest = bytes.Repeat([]byte{2}, 32) }},
		{"unregistered key", func(i *riskmeshv1.CatalogInfo) { i.KeyId = otherID[:] }},
		{"other suite", func(i *riskmeshv1.CatalogInfo) { i.Suite = "P256-SHA256" }},
		{"empty", func(i *riskmeshv1.CatalogInfo) { i.TotalLength = 0 }},
		{"too large", func(i *riskmeshv1.CatalogInfo) { i.TotalLength = 1<<20 + 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := good()
			tt.change(info)
			if err := checkInfo(info, w, 1<<20); !errors.Is(err, errCatalogInfo) {
				t.Fatalf("checkInfo = %v, want errCatalogInfo", err)
			}
		})
	}
}

func TestCatalogPathsRefuseUnsafeNames(t *testing.T) {
	for _, name := range []string{".", "..", ""} {
		if _, _, err := catalogPaths("/x", name, testCategory, 1); !errors.Is(err, errUnsafeName) {
			t.Errorf("provider %q: %v", name, err)
		}
		if _, _, err := catalogPaths("/x", "P1MSP", name, 1); !errors.Is(err, errUnsafeName) {
			t.Errorf("category %q: %v", name, err)
		}
	}
	if _, final, err := catalogPaths("/x", "P1MSP", "black", 7); err != nil || final != "/x/P1MSP/black/7.cat" {
		t.Fatalf("catalogPaths = %q, %v", final, err)
	}
}
