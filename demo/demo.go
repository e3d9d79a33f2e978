package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/node/localnet"
)

// The demo's consortium: synth's default institutions, the smallest of
// which (a consumer lender) queries the two banks' black lists.
const (
	// Requester is the institution that queries.
	Requester = "Lender3MSP"
	// Rogue is the provider the dispute scene restarts as a
	// misbehaving one.
	Rogue    = "Bank2MSP"
	category = synth.Black
	// BatchSize is the number of identifiers the query asks about.
	BatchSize = 1000
	// DefaultScale is Config.Scale's default: list entries over all
	// institutions.
	DefaultScale = synth.DefaultEntries
	// MinScale keeps enough black-listed entries for the planted hits.
	MinScale = 2000
	// shownHits bounds the rows of the result table; every hit is
	// checked whatever is shown.
	shownHits = 15
	// maxEvents bounds the events read from a query's stream: one
	// accepted, one per provider, the result.
	maxEvents = 1 << 12
	// QueryFile, in Config.Dir, holds the batch for riskmesh query --file.
	QueryFile = "query.txt"
	// queryDeadline bounds each of the demo's queries instead of the
	// node's 30 s default: every node shares the one machine's cores, and
	// CI runs the demo under the race detector beside other tests, where a
	// batch of 1,000 against three providers has taken longer than 30 s.
	queryDeadline = 3 * time.Minute
)

// prices are the tokens per queried identifier of each category.
var prices = map[string]int64{"black": 3, "grey": 2, "yellow": 1}

// Price is what one queried identifier of category costs in the demo.
func Price(category string) int64 { return prices[category] }

var (
	// ErrScale reports a Config.Scale outside MinScale to synth.MaxEntries.
	ErrScale = errors.New("demo: scale out of range")
	// ErrDirInUse reports a Config.Dir that is not empty.
	ErrDirInUse = errors.New("demo: directory not empty")
)

// Config is one run of the demo. Its zero value runs the default scale in a
// temporary directory, narrating nothing.
type Config struct {
	// Dir holds the lists, the query file and the nodes; it must be new or
	// empty. Default: a temporary directory, removed after a clean run
	// without Keep.
	Dir string
	// Scale is the number of list entries over all institutions, MinScale
	// to synth.MaxEntries. Default DefaultScale.
	Scale int
	// Seed seeds the synthetic lists and the query batch.
	Seed uint64
	// Keep leaves the network running in period 2, for riskmesh query and
	// riskmesh ledger, until ctx ends.
	Keep bool
	// Binary is the riskmesh executable the nodes run and the claim scene
	// runs as an operator would. Default: os.Executable(), for the
	// riskmesh binary itself.
	Binary string
	// Out receives the narrative for a person. Default io.Discard.
	Out io.Writer
	// Terminal redraws the progress bars in place on Out (a terminal)
	// instead of writing a line per change.
	Terminal bool
}

// Run runs every scene against a network it starts and stops, and returns
// what it saw. The error is the first check that failed (or ctx's); the
// summary, never nil, holds what was seen until then. Summary.OK and
// Summary.Error are left to the caller, which may word the error.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	cfg.Scale = cmp.Or(cfg.Scale, DefaultScale)
	cfg.Out = cmp.Or(cfg.Out, io.Discard)
	d := &session{cfg: cfg, out: cfg.Out, summary: Summary{Scale: cfg.Scale, Seed: cfg.Seed, TimingsMS: map[string]int64{}}}
	if cfg.Scale < MinScale || cfg.Scale > synth.MaxEntries {
		return &d.summary, fmt.Errorf("%w: %d entries, want %d to %d", ErrScale, cfg.Scale, MinScale, synth.MaxEntries)
	}
	if d.cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return &d.summary, fmt.Errorf("demo: the riskmesh binary: %w", err)
		}
		d.cfg.Binary = exe
	}
	err := d.run(ctx)
	return &d.summary, err
}

// session is one run of the demo: the scenes share the network, the
// summary and what the first query recorded.
type session struct {
	cfg     Config
	out     io.Writer
	summary Summary
	net     *localnet.Network
	// listed counts each institution's entries in the queried category:
	// the total of its first catalog build, which the node cannot know
	// before reading its lists.
	listed map[string]uint64
	// recorded are the query's accounting entries on the ledger.
	recorded []accounting.RecordedEntry
	// qualityBatches are each institution's batch in the quality scene.
	qualityBatches map[string]*synth.Batch
}

func (d *session) run(ctx context.Context) (err error) {
	start := time.Now()
	dir, temporary, err := workDir(d.cfg.Dir)
	if err != nil {
		return err
	}
	d.summary.Dir = dir
	defer func() {
		if d.net != nil {
			if serr := d.net.Stop(); serr != nil {
				err = errors.Join(err, fmt.Errorf("stop the network: %w", serr))
			}
		}
		if err == nil && temporary && !d.cfg.Keep {
			err = os.RemoveAll(dir)
		} else {
			fmt.Fprintf(d.out, "\nfiles and node logs are in %s\n", dir)
		}
	}()

	cons, batch, err := d.generate(dir)
	if err != nil {
		return err
	}
	if err := d.startNetwork(ctx, dir, cons); err != nil {
		return err
	}
	if err := d.waitCatalogs(ctx, 1, "catalogs"); err != nil {
		return err
	}
	res, err := d.query(ctx, batch)
	if err != nil {
		return err
	}
	if err := d.entries(ctx, res.GetAmount()); err != nil {
		return err
	}
	if err := d.audit(ctx); err != nil {
		return err
	}
	if err := d.rotate(ctx); err != nil {
		return err
	}
	if err := d.dispute(ctx, batch); err != nil {
		return err
	}
	if err := d.claim(ctx); err != nil {
		return err
	}
	if err := d.feedback(ctx); err != nil {
		return err
	}
	if err := d.periodCycle(ctx); err != nil {
		return err
	}
	if err := d.qualityPrices(ctx); err != nil {
		return err
	}
	if err := d.reconcile(ctx, cons); err != nil {
		return err
	}
	if err := d.liveScene(ctx); err != nil {
		return err
	}
	d.summary.TimingsMS["total"] = time.Since(start).Milliseconds()
	fmt.Fprintf(d.out, "\ndemo passed in %s: every answer as planted, the bad one reversed, balances netted to zero, the false positives priced down\n", time.Since(start).Round(100*time.Millisecond))
	if d.cfg.Keep {
		return d.keep(ctx, dir)
	}
	return nil
}

// workDir returns the demo's directory as an absolute path (the nodes'
// configurations name the list files in it): dir, which must be new or
// empty, or a new temporary one.
func workDir(dir string) (string, bool, error) {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "riskmesh-demo-")
		if err != nil {
			return "", false, err
		}
		tmp, err = filepath.Abs(tmp)
		return tmp, true, err
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false, err
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return dir, false, os.MkdirAll(dir, 0o700)
	case err != nil:
		return "", false, err
	case len(entries) > 0:
		return "", false, fmt.Errorf("%w: %s", ErrDirInUse, dir)
	}
	return dir, false, nil
}

// step prints a step's heading and records its duration under name when
// done is called.
func (d *session) step(name, heading string) (done func()) {
	fmt.Fprintf(d.out, "\n== %s\n", heading)
	start := time.Now()
	return func() {
		d.summary.TimingsMS[name] = time.Since(start).Milliseconds()
		fmt.Fprintf(d.out, "   (%s)\n", time.Since(start).Round(10*time.Millisecond))
	}
}
