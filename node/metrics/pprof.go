package metrics

import (
	"net/http"
	"net/http/pprof"
)

// ProfileHandler serves Go's runtime profiles under /debug/pprof/
// (net/http/pprof): the index, the CPU profile (profile?seconds=N, 30 s by
// default), the execution trace (trace?seconds=N, 1 s by default), symbol
// look-ups and the named profiles (heap, allocs, goroutine, threadcreate,
// block, mutex). The block and mutex profiles stay empty: the node does not
// sample them, which would cost on every contended lock. cmdline is left
// out: it names the node's files and no tool needs it.
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
	return mux
}
