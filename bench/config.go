package bench

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
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
	// Reps is how many times each point is measured. Default 3.
	Reps int
	// Only restricts the run to these sweeps (Sweeps' names). Default all.
	Only []string
	// MatchDir is the nested module of the DHPSI baseline
	// (bench/baselines/match); empty skips that baseline.
	MatchDir string
	// WAN configures the emulated wide-area sweep.
	WAN WAN
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

	// wanInner is set by RunWAN: the run is the wan sweep's inside part.
	wanInner bool
	// relayed, if set, is the link the QUIC transports' relays emulate
	// (the wan sweep without tc netem).
	relayed *WAN
}

// Quick returns the configuration of `riskmesh-bench --quick`: small sizes
// and one repetition, about a minute or two on 2 cores.
func Quick() Config {
	return Config{
		Batches:     []int{1, 100, 1000},
		Lists:       []int{10_000, 30_000},
		Providers:   []int{1, 2},
		Batch:       100,
		List:        10_000,
		ECDHMaxList: 10_000,
		Reps:        1,
	}
}

// UseQuick sets every size of c to Quick's, except those set names: set
// reports whether riskmesh-bench's flag of that name (batches, lists,
// providers, batch, list, ecdh-max-list, reps) was given.
func (c *Config) UseQuick(set func(flag string) bool) {
	q := Quick()
	quick(&c.Batches, q.Batches, set("batches"))
	quick(&c.Lists, q.Lists, set("lists"))
	quick(&c.Providers, q.Providers, set("providers"))
	quick(&c.Batch, q.Batch, set("batch"))
	quick(&c.List, q.List, set("list"))
	quick(&c.ECDHMaxList, q.ECDHMaxList, set("ecdh-max-list"))
	quick(&c.Reps, q.Reps, set("reps"))
}

// quick sets *v to the quick suite's value unless a flag set it.
func quick[T any](v *T, q T, set bool) {
	if !set {
		*v = q
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
	c.Reps = cmp.Or(c.Reps, 3)
	if c.Only == nil {
		c.Only = Sweeps
	}
	c.Seed = cmp.Or(c.Seed, 1)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	checks := []struct {
		name   string
		values []int
		max    int
	}{
		{"batch size", append([]int{c.Batch}, c.Batches...), MaxBatch},
		{"list size", append([]int{c.List, c.ECDHMaxList}, c.Lists...), MaxList},
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
