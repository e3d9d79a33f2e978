// Command riskmesh-bench is the RiskMesh benchmark harness (package bench):
// catalog PSI and ECDH-PSI against circl's VOPRF and optable/match's DHPSI,
// written as CSV, a Markdown summary and plots (docs/benchmarks.md). It is a
// command of its own so that the node binary, riskmesh, links neither the
// plotting library nor the baselines.
package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/riskmesh/riskmesh/bench"
)

// defaultMatchDir is where the DHPSI baseline's module sits in a checkout,
// relative to the repository root (where `make` and the README run).
const defaultMatchDir = "bench/baselines/match"

func main() {
	if err := newBenchCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "riskmesh-bench:", err)
		os.Exit(1)
	}
}

// newBenchCommand returns the harness's command line.
func newBenchCommand() *cobra.Command {
	var (
		quick, docs, appendRows, wanInner, reportOnly bool
		out                                           string
		cfg                                           bench.Config
	)
	cmd := &cobra.Command{
		Use:           "riskmesh-bench [--quick | --docs] [--out DIR] [--only SWEEP]...",
		SilenceUsage:  true,
		SilenceErrors: true,
		Short:         "benchmark catalog PSI and ECDH-PSI against circl's VOPRF and optable/match's DHPSI",
		Long: `Measure batch-query throughput and latency against batch size, list size
and the number of providers, for catalog PSI and ECDH-PSI, in process and over
QUIC on loopback, with circl's VOPRF and optable/match's DHPSI on the same
inputs. Every answer is checked against the planted hits before its timing is
recorded. Writes results.csv, summary.md and SVG and PNG plots to --out,
then reads them back. --quick takes about a minute on 2 cores, --docs (the
rows docs/bench shows) about 17 minutes on 2 idle cores and the full suite
about 25 (docs/benchmarks.md). Size flags override the suite's.

Every row records the load it started under. Before each row the harness
waits up to --load-wait for the load of other work (the 1-minute load average
less the harness's own share of it) to fall below --max-load; a row that
starts above it is marked loaded in results.csv, summary.md and the plots, or
with --refuse-loaded recorded as skipped. --quick does not wait, and marks.

The quic-node rows run real 'riskmesh node' processes (a regulator hosting
the embedded ledger, the providers and a requester) and ask through the
requester's business API; --riskmesh names the executable, which is otherwise
built with 'go build' from the checkout the command runs in.

The DHPSI baseline is a separate Go module (` + defaultMatchDir + `), built
with 'go build -tags generic'; it is skipped when --match is empty or the
directory is missing. The wan sweep uses tc netem in a network namespace when
it can (root, unshare, ip, tc and the kernel's netem qdisc), else relays that
emulate the same link in process.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case quick:
				cfg.UsePreset(bench.Quick(), cmd.Flags().Changed)
			case docs:
				cfg.UsePreset(bench.Docs(), cmd.Flags().Changed)
			}
			// On the command line 0 turns the load check or the wait off;
			// in bench.Config, 0 is the default and negative is off.
			if cfg.MaxLoad <= 0 {
				cfg.MaxLoad = -1
			}
			if cfg.LoadWait <= 0 {
				cfg.LoadWait = -1
			}
			if cfg.MatchDir != "" {
				if _, err := os.Stat(filepath.Join(cfg.MatchDir, "go.mod")); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "dhpsi baseline skipped: no module at %s\n", cfg.MatchDir)
					cfg.MatchDir = ""
				}
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if reportOnly {
				rows, err := bench.ReadResults(out)
				if err != nil {
					return err
				}
				return report(cmd.OutOrStdout(), out, rows)
			}
			if wanInner {
				rows, err := bench.RunWAN(ctx, cfg)
				if err != nil {
					return err
				}
				return bench.WriteCSV(cmd.OutOrStdout(), rows)
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			cfg.WAN.Command = cfg.WANCommand(self)
			rows, err := bench.Run(ctx, cfg)
			if err != nil {
				return err
			}
			if appendRows {
				old, err := bench.ReadResults(out)
				if err != nil {
					return fmt.Errorf("--append: %w", err)
				}
				rows = append(old, rows...)
			}
			return report(cmd.OutOrStdout(), out, rows)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&quick, "quick", false, "small sizes and one repetition (about 1-2 minutes on 2 cores)")
	f.BoolVar(&docs, "docs", false, "the rows docs/bench shows: the full suite without batches of 100,000 (about 17 minutes on 2 idle cores)")
	f.StringVar(&out, "out", "bench-results", "directory for results.csv, summary.md and the plots")
	f.StringSliceVar(&cfg.Only, "only", nil, "run only these sweeps: batch, list, providers, wan (repeatable)")
	f.StringVar(&cfg.MatchDir, "match", defaultMatchDir, "module directory of the DHPSI baseline; empty skips it")
	f.StringVar(&cfg.NodeBinary, "riskmesh", "", "the riskmesh executable the quic-node rows' nodes run (default: go build ./cmd/riskmesh here)")
	f.IntSliceVar(&cfg.Batches, "batches", nil, "batch sizes of the batch sweep")
	f.IntSliceVar(&cfg.Lists, "lists", nil, "list sizes of the list sweep")
	f.IntSliceVar(&cfg.Providers, "providers", nil, "provider counts of the providers sweep")
	f.IntVar(&cfg.Batch, "batch", 0, "batch size where another parameter varies")
	f.IntVar(&cfg.List, "list", 0, "list size where another parameter varies")
	f.IntVar(&cfg.ECDHMaxList, "ecdh-max-list", 0, "largest responder set for ECDH-PSI and DHPSI")
	f.IntVar(&cfg.FanoutECDHList, "fanout-ecdh-list", 0, "ECDH-PSI's list per provider in the providers sweep (default 10000)")
	f.IntVar(&cfg.Reps, "reps", 0, "repetitions of each point")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of the synthetic lists and batches")
	f.DurationVar(&cfg.WAN.Delay, "wan-delay", 0, "wan sweep: netem delay each way (default 10ms)")
	f.Int64Var(&cfg.WAN.Rate, "wan-rate", 0, "wan sweep: netem rate in bit/s (default 100 Mbit/s)")
	f.Float64Var(&cfg.MaxLoad, "max-load", bench.DefaultMaxLoad,
		"mark rows started while other work's load (1-minute load average less the harness's share) is at or above this; 0: no check")
	f.DurationVar(&cfg.LoadWait, "load-wait", bench.DefaultLoadWait,
		"before each row, wait up to this long for other work's load to fall below --max-load; 0: no wait (--quick's default)")
	f.BoolVar(&cfg.RefuseLoaded, "refuse-loaded", false, "record a row still loaded after the wait as skipped instead of measuring it")
	f.BoolVar(&appendRows, "append", false, "add this run's rows to those already in --out's results.csv")
	f.BoolVar(&reportOnly, "report-only", false, "measure nothing: rewrite the summary and plots from --out's results.csv")
	f.BoolVar(&wanInner, "wan-inner", false, "run the wan sweep's points here and write CSV to stdout (the harness runs this inside the emulated network)")
	f.MarkHidden("wan-inner")
	cmd.MarkFlagsMutuallyExclusive("quick", "docs")
	cmd.AddCommand(newDaemonCommand())
	return cmd
}

// newDaemonCommand returns the daemon bench: small queries through real
// `riskmesh node` processes (bench.RunDaemon).
func newDaemonCommand() *cobra.Command {
	var cfg bench.DaemonConfig
	cmd := &cobra.Command{
		Use:   "daemon --riskmesh BINARY --dir DIR",
		Short: "time one-identifier queries through real riskmesh node processes and their business API",
		Long: `Start the regulator (hosting the embedded ledger), three providers with
lists of --list entries and a requester, each a 'riskmesh node' process from its
node.yaml on loopback, and time one-identifier queries through the requester's
business API: one at a time to one provider, then to all three, then --concurrent
queries to all three from --clients clients at once, then --large-queries queries
of --large identifiers to one provider, each followed by the same batch through
psi/catalogpsi in this process, the rate the node's path is compared with. Prints
a Markdown table of wall-time percentiles, queries and identifiers per second,
CPU per query and the load average.

With --profile DIR every node serves Go's profiles on a loopback port
(node.yaml listen.pprof) and each phase records, from its start, a CPU profile
and an execution trace of --profile-window of every node process, in
DIR/<phase>/<MSP id>.cpu.pprof and .trace (go tool pprof, go tool trace); a
phase then goes on asking until its window has closed, so its query count may
exceed the one asked, and profiling's own cost is in its figures.

With --compare BINARY a second requester runs that build beside the first (the
regulator and providers then run a copy of --riskmesh, so that neither requester
shares its code's pages with them), and the two one-at-a-time phases alternate
their queries between the two, A B B A B A A B, printing a row for each ("daemon,
compare"): two builds measured under the same load, which drifts between runs
minutes apart by more than most changes move. Every row names its build by the
SHA-256 of the executable that answered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			m, points, err := bench.RunDaemon(ctx, cfg)
			if len(points) > 0 {
				if werr := bench.WriteDaemonTable(cmd.OutOrStdout(), m, points); werr != nil && err == nil {
					err = werr
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Binary, "riskmesh", "", "the riskmesh executable the nodes run (go build ./cmd/riskmesh)")
	f.StringVar(&cfg.Dir, "dir", "", "an empty directory for the nodes and their lists")
	f.IntVar(&cfg.List, "list", 0, "entries on each provider's list (default 100000)")
	f.IntVar(&cfg.Queries, "queries", 0, "one-at-a-time queries per fan-out (default 300)")
	f.IntVar(&cfg.Clients, "clients", 0, "clients of the concurrent phase (default 16)")
	f.IntVar(&cfg.Concurrent, "concurrent", 0, "queries of the concurrent phase (default 2000)")
	f.IntVar(&cfg.Large, "large", 0, "identifiers per query of the large-batch phase (default 1000)")
	f.IntVar(&cfg.LargeQueries, "large-queries", 0, "queries of the large-batch phase and of its in-process reference (default 20)")
	f.StringVar(&cfg.Compare, "compare", "", "a second riskmesh executable: a second requester runs it and the one-at-a-time phases alternate between the two")
	f.IntVar(&cfg.SplitItems, "split-items", 0, "the requester's requester.split_items: large queries as pipelined exchanges of at least this many items (default 0, never split)")
	f.Uint64Var(&cfg.Seed, "seed", 0, "seed of the synthetic lists and batches")
	f.StringVar(&cfg.Profile, "profile", "", "write a CPU profile and an execution trace of every node process per phase to DIR/<phase>/ (each phase asks until --profile-window has passed)")
	f.DurationVar(&cfg.ProfileWindow, "profile-window", 0, "length of each phase's profiles, from its start (default 5s)")
	return cmd
}

// report writes the results, the summary and the plots to dir
// (bench.WriteReport, which reads them back).
func report(w io.Writer, dir string, rows []bench.Row) error {
	files, err := bench.WriteReport(dir, rows)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "wrote %d rows and %d files to %s\n", len(rows), len(files), dir)
	return err
}
