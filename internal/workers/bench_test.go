package workers

import (
	"fmt"
	"sync"
	"testing"
)

// deep uses about frames*1 KiB of stack, the way a request handler's call
// chain does (a QUIC stream read, protobuf decoding, a signature check).
//
//go:noinline
func deep(frames int) byte {
	var pad [1024]byte
	pad[frames%len(pad)] = byte(frames)
	if frames == 0 {
		return pad[0]
	}
	return deep(frames-1) + pad[frames%len(pad)]
}

var sink byte

// BenchmarkGo compares a go statement with Pool.Go for a function that
// needs a grown stack, one at a time (a small query's hand-offs).
func BenchmarkGo(b *testing.B) {
	for _, kib := range []int{4, 16, 32} {
		b.Run(fmt.Sprintf("GoStatement/%dKiB", kib), func(b *testing.B) {
			b.ReportAllocs()
			var wg sync.WaitGroup
			for b.Loop() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sink = deep(kib)
				}()
				wg.Wait()
			}
		})
		b.Run(fmt.Sprintf("Pool/%dKiB", kib), func(b *testing.B) {
			b.ReportAllocs()
			p := New(DefaultIdle)
			var wg sync.WaitGroup
			for b.Loop() {
				wg.Add(1)
				p.Go(func() {
					defer wg.Done()
					sink = deep(kib)
				})
				wg.Wait()
			}
		})
	}
}
