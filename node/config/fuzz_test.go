package config

import (
	"os"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzParse checks that no input makes Parse panic or allocate without
// bound, and that an accepted configuration survives a YAML round trip.
func FuzzParse(f *testing.F) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	f.Add([]byte(minimal))
	f.Add([]byte("msp_id: A\nledger: {backend: embedded, embedded: {consortium_file: c}}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "/base")
		if err != nil {
			return
		}
		enc, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("accepted configuration does not encode: %v", err)
		}
		again, err := Parse(enc, "/elsewhere")
		if err != nil {
			t.Fatalf("re-encoded configuration rejected: %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip changed the configuration:\n%+v\n%+v", c, again)
		}
	})
}
