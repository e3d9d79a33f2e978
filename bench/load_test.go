package bench

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeMachine is a clock, the harness's CPU time and a load source that
// tests drive by hand: sleeping advances the clock, nothing waits.
type fakeMachine struct {
	now   time.Time
	cpu   float64
	loads []LoadAverage // read in turn; the last one repeats
	err   error
	reads int
	slept []time.Duration
}

func (m *fakeMachine) judge() *loadJudge {
	return &loadJudge{
		read: func() (LoadAverage, error) {
			m.reads++
			if m.err != nil {
				return LoadAverage{}, m.err
			}
			l := m.loads[min(m.reads, len(m.loads))-1]
			return l, nil
		},
		cpu: func() float64 { return m.cpu },
		now: func() time.Time { return m.now },
		sleep: func(ctx context.Context, d time.Duration) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			m.slept = append(m.slept, d)
			m.now = m.now.Add(d)
			return nil
		},
	}
}

func (m *fakeMachine) total() time.Duration {
	var t time.Duration
	for _, d := range m.slept {
		t += d
	}
	return t
}

// The harness's own busy cores do not count as other work: after a minute
// of keeping both cores busy, a load average of 2(1 - 1/e) is its own, and
// other work's load on top of it is what the bound judges.
func TestLoadJudgeSubtractsTheHarnessShare(t *testing.T) {
	own := 2 * (1 - math.Exp(-1))
	m := &fakeMachine{now: time.Unix(1e9, 0), loads: []LoadAverage{{0, 0, 0}, {own, 1, 1}, {own + 1.5, 1, 1}}}
	j := m.judge()
	if l := j.measure(1); l.loaded || l.other != 0 {
		t.Fatalf("idle start: %+v", l)
	}
	m.now, m.cpu = m.now.Add(time.Minute), 120 // both cores for a minute
	l := j.measure(1)
	if l.loaded || l.other > 1e-9 {
		t.Fatalf("the harness's own load judged as other work's: %+v (own share %g)", l, j.own)
	}
	l = j.measure(1) // no time passed: the same share, 1.5 more load
	if !l.loaded || math.Abs(l.other-1.5) > 1e-9 {
		t.Fatalf("other work's load 1.5 not judged: %+v", l)
	}
	if l.avg[0] != own+1.5 {
		t.Fatalf("load average %v not kept", l.avg)
	}
}

// The running node processes of a quic-node system are the harness's
// work too: their CPU time counts in its share before they end (here this
// test's own process stands in for a node, burning CPU between readings).
func TestLoadJudgeCountsTheNodes(t *testing.T) {
	for _, nodes := range [][]int{nil, {os.Getpid()}} {
		m := &fakeMachine{now: time.Unix(1e9, 0), loads: []LoadAverage{{0.5, 1, 1}}}
		j := m.judge()
		j.nodes = nodes
		j.measure(1)
		for start := processCPU(); processCPU()-start < 0.2; {
		}
		m.now = m.now.Add(time.Second)
		j.measure(1)
		if counted := j.own > 0; counted != (nodes != nil) {
			t.Errorf("nodes %v: the harness's share is %g", nodes, j.own)
		}
	}
}

// The harness's share decays as the load average does: a minute after it
// stopped, a load average still at its old level is other work's.
func TestLoadJudgeShareDecays(t *testing.T) {
	m := &fakeMachine{now: time.Unix(1e9, 0), loads: []LoadAverage{{1.6, 1, 1}}}
	j := m.judge()
	j.measure(1)
	m.now, m.cpu = m.now.Add(2*time.Minute), 240
	if l := j.measure(1); l.loaded {
		t.Fatalf("busy harness: %+v", l)
	}
	m.now = m.now.Add(3 * time.Minute) // idle since
	if l := j.measure(1); !l.loaded || l.other < 1.5 {
		t.Fatalf("three idle minutes later the harness's share should be near 0: %+v, own %g", l, j.own)
	}
}

// settle waits, reading every loadPoll, until other work's load falls below
// the bound, and never longer than the wait it is given.
func TestSettleWaitsBoundedTime(t *testing.T) {
	t.Run("quietens", func(t *testing.T) {
		m := &fakeMachine{now: time.Unix(1e9, 0), loads: []LoadAverage{{3, 3, 3}, {1.2, 2, 3}, {0.4, 2, 3}}}
		l, err := m.judge().settle(t.Context(), 1, time.Minute)
		if err != nil || l.loaded || l.avg[0] != 0.4 {
			t.Fatalf("%+v, %v", l, err)
		}
		if m.reads != 3 || len(m.slept) != 2 || m.slept[0] != loadPoll {
			t.Fatalf("%d reads, slept %v", m.reads, m.slept)
		}
	})
	t.Run("stays busy", func(t *testing.T) {
		m := &fakeMachine{now: time.Unix(1e9, 0), loads: []LoadAverage{{3, 3, 3}}}
		l, err := m.judge().settle(t.Context(), 1, 12*time.Second)
		if err != nil || !l.loaded || l.other != 3 {
			t.Fatalf("%+v, %v", l, err)
		}
		if m.total() != 12*time.Second {
			t.Fatalf("slept %v, want exactly the 12s bound", m.slept)
		}
	})
	t.Run("no wait", func(t *testing.T) {
		m := &fakeMachine{now: time.Unix(1e9, 0), loads: []LoadAverage{{3, 3, 3}}}
		l, err := m.judge().settle(t.Context(), 1, -1)
		if err != nil || !l.loaded || len(m.slept) != 0 || m.reads != 1 {
			t.Fatalf("%+v, %v, slept %v", l, err, m.slept)
		}
	})
	t.Run("no bound", func(t *testing.T) {
		m := &fakeMachine{now: time.Unix(1e9, 0), loads: []LoadAverage{{30, 30, 30}}}
		l, err := m.judge().settle(t.Context(), -1, time.Minute)
		if err != nil || l.loaded || len(m.slept) != 0 || l.avg[0] != 30 {
			t.Fatalf("%+v, %v, slept %v", l, err, m.slept)
		}
	})
	t.Run("unreadable", func(t *testing.T) {
		m := &fakeMachine{now: time.Unix(1e9, 0), err: errors.New("no /proc")}
		l, err := m.judge().settle(t.Context(), 1, time.Minute)
		if err != nil || !l.loaded || l.err == nil || len(m.slept) != 0 {
			t.Fatalf("an unreadable load must mark the row: %+v, %v", l, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		m := &fakeMachine{now: time.Unix(1e9, 0), loads: []LoadAverage{{3, 3, 3}}}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := m.judge().settle(ctx, 1, time.Minute); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v", err)
		}
	})
}

func TestParseLoadAverage(t *testing.T) {
	l, err := parseLoadAverage("0.52 1.10 12.00 1/234 5678\n")
	if err != nil || l != (LoadAverage{0.52, 1.10, 12}) || l.String() != "0.52 1.10 12.00" {
		t.Fatalf("%v, %v", l, err)
	}
	for _, bad := range []string{"", "0.5 0.6", "0.5 x 0.7", "-1 0 0", "NaN 0 0", "1e9 0 0"} {
		if _, err := parseLoadAverage(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A run on a machine that stays busy marks every row it measures, keeps
// each row's load, and says so in the summary; with RefuseLoaded it
// measures nothing and records why.
func TestRunJudgesEveryRowsLoad(t *testing.T) {
	busy := func() (LoadAverage, error) { return LoadAverage{7.5, 6, 5}, nil }
	cfg := tinyConfig(t)
	cfg.Only, cfg.Batches, cfg.Reps, cfg.MatchDir = []string{SweepList}, nil, 2, ""
	cfg.Lists = []int{300}
	cfg.LoadSource, cfg.LoadWait = busy, -1
	rows, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	measured := 0
	for _, r := range rows {
		if r.Phase == PhaseSkipped {
			continue
		}
		measured++
		if !r.Loaded || r.Load != "7.50 6.00 5.00" || r.OtherLoad <= 0 || r.OtherLoad > 7.5 {
			t.Errorf("%s %s %s: loaded %t, load %q, other %g", r.Protocol, r.Transport, r.Phase, r.Loaded, r.Load, r.OtherLoad)
		}
	}
	if measured == 0 {
		t.Fatal("no row measured")
	}
	var summary strings.Builder
	if err := WriteSummary(&summary, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(summary.String(), "⚠ 2 of 2") || !strings.Contains(summary.String(), "rows were measured at or above the run's bound") {
		t.Errorf("summary does not mark the loaded rows:\n%s", summary.String())
	}

	cfg.RefuseLoaded = true
	rows, err = Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, r := range rows {
		if r.Phase != PhaseSkipped {
			t.Errorf("%s %s %s measured on a busy machine despite RefuseLoaded", r.Protocol, r.Transport, r.Phase)
			continue
		}
		if strings.HasPrefix(r.Note, "refused: load of other work") {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no refusal recorded")
	}
}
