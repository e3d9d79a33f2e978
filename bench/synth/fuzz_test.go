package synth

import (
	"testing"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// FuzzRawForm checks, beyond the fixed samples of TestIdentifierNormalizes,
// that every generated identifier is canonical and every raw form of it
// normalises back to it, whatever the seed and variant.
func FuzzRawForm(f *testing.F) {
	for i := range ident.Types {
		f.Add(uint64(i), uint8(i), uint64(i))
	}
	f.Fuzz(func(t *testing.T, seed uint64, typ uint8, variant uint64) {
		tp := ident.Types[int(typ)%len(ident.Types)]
		id := Identifier(newRand(seed, "fuzz"), tp)
		if got, err := ident.Normalize(tp, id.Value); err != nil || got != id {
			t.Fatalf("Normalize(%q) = %q, %v", id.Value, got, err)
		}
		raw := rawForm(id, variant)
		if got, err := ident.Normalize(tp, raw); err != nil || got != id {
			t.Fatalf("raw form %q of %q: got %q, %v", raw, id.Value, got, err)
		}
	})
}
