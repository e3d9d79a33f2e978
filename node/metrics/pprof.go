package metrics

import (
	"net/http"
	"net/http/pprof"
	"runtime"
	"sync"
)

// ProfileHandler serves Go's runtime profiles under /debug/pprof/
// (net/http/pprof): the index, the CPU profile (profile?seconds=N, 30 s by
// default), the execution trace (trace?seconds=N, 1 s by default), symbol
// look-ups and the named profiles (heap, allocs, goroutine, threadcreate,
// block, mutex). The block and mutex profiles are sampled only over a
// window asked for (block?seconds=N, mutex?seconds=N: the contention of
// those N seconds, contention): sampling every contended lock at all times
// would cost a node that nobody profiles. cmdline is left out: it names
// the node's files and no tool needs it.
//
// It is not part of Handler: profiles are served only on the listener
// listen.pprof names, which node/config keeps on loopback, since whoever
// reaches it can burn the node's CPU and record its requests' timing.
// What the node does shows in an execution trace as tasks and regions
// (instrument.go), never with a query's data.
func ProfileHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.Handle("GET /debug/pprof/block", blockSampling.serve("block"))
	mux.Handle("GET /debug/pprof/mutex", mutexSampling.serve("mutex"))
	return mux
}

// Contention sampling rates while a window is open: one blocking event
// per 10 µs spent blocked (runtime.SetBlockProfileRate), one contended
// mutex in 10 (runtime.SetMutexProfileFraction). Both are the runtime's
// process-wide settings, hence one sampling state per profile for the
// process, however many handlers serve it.
const (
	blockRateNanos = 10_000
	mutexFraction  = 10
)

var (
	blockSampling = &sampling{rate: blockRateNanos, apply: runtime.SetBlockProfileRate}
	mutexSampling = &sampling{rate: mutexFraction, apply: func(r int) { runtime.SetMutexProfileFraction(r) }}
)

// sampling turns a contention profile's sampling on (apply(rate)) while at
// least one window asking for it is open, and off (apply(0)) when the
// last one closes.
type sampling struct {
	rate    int
	apply   func(rate int)
	mu      sync.Mutex
	windows int
}

// serve serves the named profile: with seconds=N, the delta of a window
// of N seconds during which sampling is on (net/http/pprof takes the
// profile at its start and its end); without, the profile so far, which
// holds only what earlier windows sampled.
func (s *sampling) serve(name string) http.Handler {
	profile := pprof.Handler(name)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("seconds") != "" {
			s.open()
			defer s.close()
		}
		profile.ServeHTTP(w, r)
	})
}

func (s *sampling) open() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.windows == 0 {
		s.apply(s.rate)
	}
	s.windows++
}

func (s *sampling) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.windows--; s.windows == 0 {
		s.apply(0)
	}
}
