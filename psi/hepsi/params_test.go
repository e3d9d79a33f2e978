package hepsi

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
)

// TestCacheKeyIdentifiesParams changes each field of Params in turn, by
// reflection so that a field added later is covered too, and checks that
// the schemes cache key changes with it, including changes the wire
// encoding's narrow fields would hide (Rows + 256), and that equal sets,
// however their slices are held, share a key.
func TestCacheKeyIdentifiesParams(t *testing.T) {
	base := testParams(t, 16)
	key := base.cacheKey(nil)
	same := base
	same.Q, same.P = slices.Clone(base.Q), slices.Clone(base.P)
	if !bytes.Equal(same.cacheKey(nil), key) {
		t.Fatal("equal parameter sets have different keys")
	}
	typ := reflect.TypeFor[Params]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		variants := map[string]func(v reflect.Value){}
		switch f.Type.Kind() {
		case reflect.Int:
			variants["+1"] = func(v reflect.Value) { v.SetInt(v.Int() + 1) }
			variants["+256"] = func(v reflect.Value) { v.SetInt(v.Int() + 256) }
			variants["+65536"] = func(v reflect.Value) { v.SetInt(v.Int() + 65536) }
		case reflect.Uint64:
			variants["+1"] = func(v reflect.Value) { v.SetUint(v.Uint() + 1) }
		case reflect.Slice:
			variants["one more"] = func(v reflect.Value) {
				v.Set(reflect.ValueOf(append(slices.Clone(v.Interface().([]uint64)), 1)))
			}
			variants["last changed"] = func(v reflect.Value) {
				s := slices.Clone(v.Interface().([]uint64))
				s[len(s)-1]++
				v.Set(reflect.ValueOf(s))
			}
		default:
			t.Fatalf("field %s has kind %s, which this test does not vary", f.Name, f.Type.Kind())
		}
		for name, change := range variants {
			t.Run(f.Name+"/"+name, func(t *testing.T) {
				p := base
				p.Q, p.P = slices.Clone(base.Q), slices.Clone(base.P)
				change(reflect.ValueOf(&p).Elem().Field(i))
				if bytes.Equal(p.cacheKey(nil), key) {
					t.Fatalf("changing %s leaves the cache key unchanged", f.Name)
				}
			})
		}
	}
	// Q's last prime moved into P: the lengths keep the two apart.
	moved := base
	moved.Q = slices.Clone(base.Q[:len(base.Q)-1])
	moved.P = append([]uint64{base.Q[len(base.Q)-1]}, base.P...)
	if bytes.Equal(moved.cacheKey(nil), key) {
		t.Fatal("moving a prime from Q to P leaves the cache key unchanged")
	}
}

// TestParamsCheckAllocatesNothing: once a set is cached, checking it again,
// which every message decoder and QueryDigest do, allocates nothing.
func TestParamsCheckAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	p := testParams(t, 16)
	if a := testing.AllocsPerRun(100, func() { _ = p.Validate() }); a != 0 {
		t.Fatalf("Validate of a cached set: %.1f allocations, want 0", a)
	}
}
