package mirror

import (
	"bytes"
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// FuzzCheckChunk: a chunk is accepted only if it continues the download
// exactly, within the chunk size and the catalog's length.
func FuzzCheckChunk(f *testing.F) {
	digest := bytes.Repeat([]byte{7}, 32)
	f.Add(uint64(4096), []byte("data"), uint64(10000), digest)
	f.Add(uint64(0), []byte{}, uint64(0), []byte{})
	f.Fuzz(func(t *testing.T, offset uint64, data []byte, total uint64, d []byte) {
		const want, size, maxChunk = 4096, 10000, 4096
		c := &riskmeshv1.CatalogChunk{Offset: offset, Data: data, TotalLength: total, Digest: d}
		if checkChunk(c, want, size, digest, maxChunk) != nil {
			return
		}
		if offset != want || total != size || len(data) == 0 || len(data) > maxChunk ||
			want+uint64(len(data)) > size || !bytes.Equal(d, digest) {
			t.Fatalf("accepted chunk at %d of %d bytes (total %d)", offset, len(data), total)
		}
	})
}
