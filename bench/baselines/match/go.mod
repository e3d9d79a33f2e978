module github.com/riskmesh/riskmesh/bench/baselines/match

go 1.26.0

require github.com/optable/match v1.4.0

require (
	github.com/alecthomas/unsafeslice v0.1.0 // indirect
	github.com/bwesterb/go-ristretto v1.2.0 // indirect
	github.com/go-logr/logr v1.2.0 // indirect
	github.com/gtank/ristretto255 v0.1.2 // indirect
)
