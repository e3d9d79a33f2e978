package bench

import (
	"cmp"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// Sweeps, the values of Row.Sweep and of Config.Only.
const (
	// SweepBatch varies the batch size with one provider and a fixed list.
	SweepBatch = "batch"
	// SweepList varies the provider's list size with a fixed batch.
	SweepList = "list"
	// SweepProviders varies the number of providers queried at once.
	SweepProviders = "providers"
	// SweepWAN repeats the fixed point over an emulated wide-area link.
	SweepWAN = "wan"
)

// Sweeps lists every sweep in the order a run performs them.
var Sweeps = []string{SweepBatch, SweepList, SweepProviders, SweepWAN}

// Protocols, the values of Row.Protocol.
const (
	ProtocolCatalog = "catalog-psi"
	ProtocolECDH    = "ecdh-psi"
	ProtocolVOPRF   = "circl-voprf"
	ProtocolDHPSI   = "optable-dhpsi"
	// ProtocolLive is live mode: the POPRF step, then homomorphic labeled
	// PSI against the provider's current list (docs/protocol/hepsi.md).
	ProtocolLive  = "live-he"
	ProtocolRecon = "ecdh-reconcile" // node/recon, both learn, with proofs
)

// Transports, the values of Row.Transport (see the package doc).
const (
	TransportInProcess = "inprocess"
	TransportQUICNode  = "quic-node"
	TransportQUICPeer  = "quic-peer"
	TransportTCP       = "tcp-loopback"
)

// Limits on a Config, so that a typo cannot ask for more than a machine
// holds (bench/synth keeps about 100 bytes per entry in memory).
const (
	MaxBatch     = 100_000
	MaxList      = 10_000_000
	MaxProviders = 8
	MaxReps      = 100
	// maxLoadBound and maxLoadWait bound MaxLoad and LoadWait: a bound no
	// load reaches, or a wait of hours per row, is a typo.
	maxLoadBound = 1000
	maxLoadWait  = time.Hour
)

// Config describes a run. The zero value is the full suite; Quick returns
// the small one.
type Config struct {
	// Batches are the batch sizes of the batch sweep, 1 to MaxBatch.
	// Default 1, 10, 100, 1,000, 10,000 and 100,000.
	Batches []int
	// Lists are the list sizes of the list sweep, 1 to MaxList. Default
	// 10^4, 10^5 and 10^6: 10^7 fits (about 6 minutes of catalog build and
	// 2 GB on 2 cores) but is left to an explicit Lists.
	Lists []int
	// Providers are the provider counts of the providers sweep, 1 to
	// MaxProviders. Default 1, 2, 4 and 8.
	Providers []int
	// Batch is the batch size where another parameter varies. Default 1,000.
	Batch int
	// List is each provider's list size where another parameter varies.
	// Default 100,000.
	List int
	// ECDHMaxList caps the responder's set in every ECDH-PSI and DHPSI
	// point (their cost grows with it, unlike catalog PSI's query): a
	// larger list is replaced by the cap and the row says so. Default
	// 100,000.
	ECDHMaxList int
	// FanoutECDHList is each provider's list for ECDH-PSI in the providers
	// sweep, at most ECDHMaxList: that sweep is about the fan-out, and at
	// 100,000 entries ECDH-PSI's share of it alone would take about ten
	// minutes on 2 cores, while the list sweep already shows how its cost
	// grows with the list. Default 10,000.
	FanoutECDHList int
	// Reps is how many times each point is measured. Default 3.
	Reps int
	// Only restricts the run to these sweeps (Sweeps' names). Default all.
	Only []string
	// MatchDir is the nested module of the DHPSI baseline
	// (bench/baselines/match); empty skips that baseline.
	MatchDir string
	// WAN configures the emulated wide-area sweep.
	WAN WAN
	// NodeBinary is the riskmesh executable the quic-node rows' nodes run.
	// Default: built (go build) into TempDir when a run first needs it,
	// from the module of the working directory.
	NodeBinary string
	// Seed selects the synthetic lists and batches. Default 1.
	Seed uint64
	// TempDir holds node databases, catalogs and input files; it is
	// removed at the end. Default: a new directory under os.TempDir.
	TempDir string
	// Machine is recorded in every row. Default: DetectMachine in the
	// working directory when the run starts.
	Machine Machine
	// Logger receives progress events (default: discard).
	Logger *slog.Logger

	// MaxLoad is the load of the machine's other work at or above which a
	// row is loaded: the 1-minute load average less the harness's own
	// share of it (loadJudge), read when the row starts. Before each row
	// the run waits up to LoadWait for it to fall below; a row still above
	// is marked (Row.Loaded: the loaded column, summary.md and the plots)
	// or, with RefuseLoaded, not measured. Default DefaultMaxLoad;
	// negative judges nothing (rows still record their load).
	MaxLoad float64
	// LoadWait bounds the wait before each row. Default DefaultLoadWait;
	// negative, no wait (Quick's: CI runs on busy machines).
	LoadWait time.Duration
	// RefuseLoaded records a row still loaded after the wait as skipped,
	// with the load in its note, instead of measuring it.
	RefuseLoaded bool
	// LoadSource reads the load averages. Default ReadLoadAverage.
	LoadSource LoadSource

	// wanInner is set by RunWAN: the run is the wan sweep's inside part.
	wanInner bool
	// relayed, if set, is the link the QUIC transports' relays emulate
	// (the wan sweep without tc netem).
	relayed *WAN
	// judge, once Run has set it, judges every row's load; the wan
	// sweep's in-process run shares it, so that the harness's share of
	// the load is known there too.
	judge *loadJudge
}

// Defaults of the load check: rows measured while other work keeps a core
// busy are marked, after at most a minute's wait (the 1-minute load
// average falls by a factor e in that time once the work stops).
const (
	DefaultMaxLoad  = 1.0
	DefaultLoadWait = time.Minute
)

// Quick returns the configuration of `riskmesh-bench --quick`: small sizes
// and one repetition, about a minute or two on 2 cores. It does not wait
// for the machine to quieten (CI runs it on busy machines); rows measured
// under load are marked.
func Quick() Config {
	return Config{
		Batches:     []int{1, 100, 1000},
		Lists:       []int{10_000, 30_000},
		Providers:   []int{1, 2},
		Batch:       100,
		List:        10_000,
		ECDHMaxList: 10_000,
		Reps:        1,
		LoadWait:    -1,
	}
}

// Docs returns the configuration of `riskmesh-bench --docs`: the rows
// docs/bench shows, which is the full suite without its largest batch
// (100,000 identifiers: about 8 minutes of its own on 2 cores, added with
// --append when wanted), so that it runs in about a quarter of an hour on
// 2 idle cores (docs/benchmarks.md, "Benchmark harness").
func Docs() Config {
	return Config{Batches: []int{1, 10, 100, 1000, 10_000}}
}

// UsePreset sets every size of c, and the load wait, that preset (Quick or
// Docs) sets, except those set names: set reports whether
// riskmesh-bench's flag of that name (batches, lists, providers, batch,
// list, ecdh-max-list, fanout-ecdh-list, reps, load-wait) was given.
func (c *Config) UsePreset(preset Config, set func(flag string) bool) {
	use(&c.Batches, preset.Batches, set("batches"))
	use(&c.Lists, preset.Lists, set("lists"))
	use(&c.Providers, preset.Providers, set("providers"))
	use(&c.Batch, preset.Batch, set("batch"))
	use(&c.List, preset.List, set("list"))
	use(&c.ECDHMaxList, preset.ECDHMaxList, set("ecdh-max-list"))
	use(&c.FanoutECDHList, preset.FanoutECDHList, set("fanout-ecdh-list"))
	use(&c.Reps, preset.Reps, set("reps"))
	use(&c.LoadWait, preset.LoadWait, set("load-wait"))
}

// use sets *v to the preset's value p unless a flag set it or the preset
// leaves it to the default.
func use[T any](v *T, p T, set bool) {
	if !set && !reflect.ValueOf(&p).Elem().IsZero() {
		*v = p
	}
}

// WANCommand is the argv that runs the riskmesh-bench binary self again
// inside the emulated network (its hidden --wan-inner mode), with c's
// sizes: what WAN.Command is for a run of the command.
func (c *Config) WANCommand(self string) []string {
	argv := []string{self, "--wan-inner"}
	for flag, v := range map[string]int{"--batch": c.Batch, "--list": c.List, "--ecdh-max-list": c.ECDHMaxList, "--reps": c.Reps} {
		if v != 0 {
			argv = append(argv, flag, strconv.Itoa(v))
		}
	}
	if c.Seed != 0 {
		argv = append(argv, "--seed", strconv.FormatUint(c.Seed, 10))
	}
	// The load check as the command line spells it: 0 turns it off.
	if c.MaxLoad != 0 {
		argv = append(argv, "--max-load", strconv.FormatFloat(max(c.MaxLoad, 0), 'g', -1, 64))
	}
	if c.LoadWait != 0 {
		argv = append(argv, "--load-wait", max(c.LoadWait, 0).String())
	}
	if c.RefuseLoaded {
		argv = append(argv, "--refuse-loaded")
	}
	return argv
}

// withDefaults fills the zero fields and validates the result.
func (c Config) withDefaults() (Config, error) {
	if c.Batches == nil {
		c.Batches = []int{1, 10, 100, 1000, 10_000, 100_000}
	}
	if c.Lists == nil {
		c.Lists = []int{10_000, 100_000, 1_000_000}
	}
	if c.Providers == nil {
		c.Providers = []int{1, 2, 4, 8}
	}
	c.Batch = cmp.Or(c.Batch, 1000)
	c.List = cmp.Or(c.List, 100_000)
	c.ECDHMaxList = cmp.Or(c.ECDHMaxList, 100_000)
	c.FanoutECDHList = cmp.Or(c.FanoutECDHList, 10_000)
	c.Reps = cmp.Or(c.Reps, 3)
	if c.Only == nil {
		c.Only = Sweeps
	}
	c.Seed = cmp.Or(c.Seed, 1)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	c.MaxLoad = cmp.Or(c.MaxLoad, DefaultMaxLoad)
	c.LoadWait = cmp.Or(c.LoadWait, DefaultLoadWait)
	if c.LoadSource == nil {
		c.LoadSource = ReadLoadAverage
	}
	checks := []struct {
		name   string
		values []int
		max    int
	}{
		{"batch size", append([]int{c.Batch}, c.Batches...), MaxBatch},
		{"list size", append([]int{c.List, c.ECDHMaxList, c.FanoutECDHList}, c.Lists...), MaxList},
		{"provider count", c.Providers, MaxProviders},
		{"repetitions", []int{c.Reps}, MaxReps},
	}
	for _, ch := range checks {
		for _, v := range ch.values {
			if v < 1 || v > ch.max {
				return c, fmt.Errorf("%w: %s %d is outside 1..%d", ErrConfig, ch.name, v, ch.max)
			}
		}
	}
	if math.IsNaN(c.MaxLoad) || c.MaxLoad > maxLoadBound {
		return c, fmt.Errorf("%w: load bound %g is above %d", ErrConfig, c.MaxLoad, maxLoadBound)
	}
	if c.LoadWait > maxLoadWait {
		return c, fmt.Errorf("%w: load wait %v is above %v", ErrConfig, c.LoadWait, maxLoadWait)
	}
	if c.WAN.Delay < 0 || c.WAN.Rate < 0 {
		return c, fmt.Errorf("%w: negative WAN delay or rate", ErrConfig)
	}
	for _, s := range c.Only {
		if !slices.Contains(Sweeps, s) {
			return c, fmt.Errorf("%w: unknown sweep %q (want one of %v)", ErrConfig, s, Sweeps)
		}
	}
	return c, nil
}

// runs reports whether the configuration includes sweep.
func (c *Config) runs(sweep string) bool { return slices.Contains(c.Only, sweep) }
