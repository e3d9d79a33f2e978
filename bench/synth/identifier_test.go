package synth

import (
	"errors"
	"testing"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// samplesPerType is large enough that every table entry (phone plan, BIN,
// province, device shape) and every raw form is hit many times.
const samplesPerType = 100_000

func TestIdentifierNormalizes(t *testing.T) {
	withCode, err := ident.New(ident.Config{DefaultCallingCode: "86"})
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range ident.Types {
		t.Run(string(typ), func(t *testing.T) {
			r := newRand(1, "test/"+string(typ))
			for i := range samplesPerType {
				id := Identifier(r, typ)
				got, err := ident.Normalize(typ, id.Value)
				if err != nil || got != id {
					t.Fatalf("sample %d: Normalize(%q) = %q, %v; want it unchanged", i, id.Value, got, err)
				}
				for v := range uint64(5) {
					raw := rawForm(id, v)
					for _, n := range []*ident.Normalizer{nil, withCode} {
						norm := ident.Normalize
						if n != nil {
							norm = n.Normalize
						}
						if got, err := norm(typ, raw); err != nil || got != id {
							t.Fatalf("raw form %d %q of %q: got %q, %v", v, raw, id.Value, got, err)
						}
					}
				}
			}
		})
	}
	if id := Identifier(newRand(1, "test"), "other"); id != (ident.ID{}) {
		t.Errorf("unknown type gave %q, want the zero ID", id)
	}
}

func TestIdentifierShapes(t *testing.T) {
	r := newRand(2, "test/shapes")
	lengths := map[ident.Type]map[int]bool{ident.Card: {}, ident.IDCard: {}}
	var checkX, uuids, imeis, androids bool
	for range samplesPerType {
		c := Identifier(r, ident.Card).Value
		lengths[ident.Card][len(c)] = true
		id := Identifier(r, ident.IDCard).Value
		lengths[ident.IDCard][len(id)] = true
		checkX = checkX || id[17] == 'X'
		switch d := Identifier(r, ident.Device).Value; len(d) {
		case 36:
			uuids = true
		case 15:
			imeis = true
		case 16:
			androids = true
		default:
			t.Fatalf("device id of length %d", len(d))
		}
	}
	if !lengths[ident.Card][16] || !lengths[ident.Card][19] || len(lengths[ident.Card]) != 2 {
		t.Errorf("card lengths %v, want 16 and 19", lengths[ident.Card])
	}
	if len(lengths[ident.IDCard]) != 1 || !checkX {
		t.Errorf("resident id lengths %v, check X seen %v", lengths[ident.IDCard], checkX)
	}
	if !uuids || !imeis || !androids {
		t.Errorf("device shapes: uuid %v, imei %v, android %v", uuids, imeis, androids)
	}
}

func TestInvalidKinds(t *testing.T) {
	withCode, err := ident.New(ident.Config{DefaultCallingCode: "86"})
	if err != nil {
		t.Fatal(err)
	}
	r := newRand(3, "test/invalid")
	for _, k := range invalidKinds {
		t.Run(string(k.typ)+"/"+k.want.Error(), func(t *testing.T) {
			for range 10_000 {
				raw := k.make(r)
				if _, err := ident.Normalize(k.typ, raw); !errors.Is(err, k.want) {
					t.Fatalf("Normalize(%q) = %v, want %v", raw, err, k.want)
				}
				if _, err := withCode.Normalize(k.typ, raw); !errors.Is(err, k.want) {
					t.Fatalf("with calling code 86: Normalize(%q) = %v, want %v", raw, err, k.want)
				}
			}
		})
	}
}

func TestGroupDigits(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"13800138000", "138 0013 8000"},
		{"91234567", "9123 4567"},
		{"6299010000000000000", "629 9010 0000 0000 0000"},
		{"1", "1"},
	} {
		if got := groupDigits(c.in, 4, " "); got != c.want {
			t.Errorf("groupDigits(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
