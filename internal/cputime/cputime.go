// Package cputime reads the CPU time processes have used. The benchmarks
// report CPU time beside wall time because on the project's shared 2-core
// machine a neighbour's load moves wall time far more than the CPU a piece
// of code spends (docs/benchmarks.md).
package cputime
