package seal_test

import (
	"bytes"
	"io"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open and NewReader: they must not
// panic, and whatever opens must be exactly what was sealed there (the
// fuzzer can only find a record that opens by forging one, which the
// property then fails on unless it equals the seeded record).
func FuzzOpen(f *testing.F) {
	k, _ := newKeyring(f, "fuzz")
	const loc = "lists/last-good/src"
	record, err := k.Seal(loc, []byte("entry"))
	if err != nil {
		f.Fatal(err)
	}
	var stream bytes.Buffer
	w, err := k.NewWriter(&stream, loc)
	if err != nil {
		f.Fatal(err)
	}
	w.Write([]byte("entry"))
	w.Close()
	f.Add(record)
	f.Add(stream.Bytes())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, err := k.Open(loc, data); err == nil && (!bytes.Equal(data, record) || string(got) != "entry") {
			t.Fatalf("a record that was never sealed opened: %x", data)
		}
		r, err := k.NewReader(bytes.NewReader(data), loc)
		if err != nil {
			return
		}
		if got, err := io.ReadAll(r); err == nil && (!bytes.Equal(data, stream.Bytes()) || string(got) != "entry") {
			t.Fatalf("a stream that was never sealed opened: %x", data)
		}
	})
}
