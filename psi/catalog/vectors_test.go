package catalog

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the implementation")

// Known-answer vectors. They were produced by this implementation (there is
// no external spec to take them from) and freeze the derivations and the
// encoding: a change that alters them is a format change and needs new
// domain labels or a new format version, not a vector update.
type vectorFile struct {
	Items   []itemVector  `json:"items"`
	Catalog catalogVector `json:"catalog"`
}

type itemVector struct {
	PRFOutput    string `json:"prf_output"`
	Label        string `json:"label"`
	PositionHash string `json:"position_hash"`
	Pad          string `json:"pad"`
	TagKey       string `json:"tag_key"`
	Value        string `json:"value"`
}

type catalogVector struct {
	Comment  string `json:"comment"`
	Items    int    `json:"items"`
	Seed     string `json:"seed"`
	Encoding string `json:"encoding"`
	Digest   string `json:"digest"`
}

// vectorPRF is the i-th PRF output of the catalog vector:
// SHA-512("riskmesh/v1/catalog/test-vector" || uint32be(i)).
func vectorPRF(i int) []byte {
	in := binary.BigEndian.AppendUint32([]byte("riskmesh/v1/catalog/test-vector"), uint32(i))
	sum := sha512.Sum512(in)
	return sum[:]
}

func vectorLabel(i int) Label {
	return Label{Category: 1 + uint8(i%3), Reason: uint16(100 + i), Listed: Date(20000 + i), Reference: [8]byte{'R', 'E', 'F', '0', '0', '0', '0', '0' + byte(i)}}
}

const vectorSeed = "0123456789abcdef"

func makeVectors(t *testing.T) vectorFile {
	t.Helper()
	var vf vectorFile
	for _, prf := range [][]byte{vectorPRF(0), vectorPRF(1)[:32]} {
		l := vectorLabel(len(vf.Items))
		plain, err := l.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var s itemSecrets
		deriveItem(prf, &s)
		v := s.seal((*[LabelSize]byte)(plain))
		var h [8]byte
		binary.BigEndian.PutUint64(h[:], s.hash)
		vf.Items = append(vf.Items, itemVector{
			PRFOutput: hex.EncodeToString(prf), Label: hex.EncodeToString(plain),
			PositionHash: hex.EncodeToString(h[:]), Pad: hex.EncodeToString(s.pad[:]),
			TagKey: hex.EncodeToString(s.tagKey[:]), Value: hex.EncodeToString(v[:]),
		})
	}

	const n = 10
	b, err := NewBuilder(testMeta(), n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := b.Add(vectorPRF(i), vectorLabel(i)); err != nil {
			t.Fatal(err)
		}
	}
	seed, _ := hex.DecodeString(vectorSeed)
	c, err := b.Build(bytes.NewReader(seed))
	if err != nil {
		t.Fatalf("the vector seed does not peel: %v", err)
	}
	var enc bytes.Buffer
	d, err := c.Encode(&enc)
	if err != nil {
		t.Fatal(err)
	}
	vf.Catalog = catalogVector{
		Comment: "meta as testMeta() in helpers_test.go; item i: PRF output SHA-512(\"riskmesh/v1/catalog/test-vector\" || uint32be(i)), " +
			"label {category 1+i%3, reason 100+i, listed 20000+i, reference \"REF0000\"||'0'+i}; seed is the first 8 bytes of the random source",
		Items: n, Seed: vectorSeed, Encoding: hex.EncodeToString(enc.Bytes()), Digest: hex.EncodeToString(d[:]),
	}
	return vf
}

func TestVectors(t *testing.T) {
	path := filepath.Join("testdata", "vectors.json")
	got := makeVectors(t)
	if *update {
		data, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want vectorFile
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	for i := range want.Items {
		t.Run("item "+string(rune('0'+i)), func(t *testing.T) {
			if got.Items[i] != want.Items[i] {
				t.Fatalf("got  %+v\nwant %+v", got.Items[i], want.Items[i])
			}
		})
	}
	t.Run("catalog", func(t *testing.T) {
		if got.Catalog != want.Catalog {
			t.Fatalf("catalog vector differs:\ngot digest  %s\nwant digest %s", got.Catalog.Digest, want.Catalog.Digest)
		}
		enc, _ := hex.DecodeString(want.Catalog.Encoding)
		c, err := Decode(bytes.NewReader(enc), DecodeConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if d := c.Digest(); hex.EncodeToString(d[:]) != want.Catalog.Digest {
			t.Fatal("decoded digest differs from the vector")
		}
		for i := range want.Catalog.Items {
			if l, ok := c.Lookup(vectorPRF(i)); !ok || l != vectorLabel(i) {
				t.Fatalf("vector item %d: %+v, %v", i, l, ok)
			}
		}
	})
}
