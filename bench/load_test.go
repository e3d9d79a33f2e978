package bench

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeMachine is a clock, the harness's CPU time and a load source that
// tests drive by hand: sleeping advances the clock, nothing waits.
type fakeMachine struct {
	now   time.Time
	cpu   float64
	waits map[int]float64 // each process's run-queue wait so far
	loads []LoadAverage   // read in turn; the last one repeats
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
		cpu:    func() float64 { return m.cpu },
		waited: func(pid int) float64 { return m.waits[pid] },
		now:    func() time.Time { return m.now },
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

// Node processes that wait for a core are the harness's load too: ten
// nodes building catalogs on 2 cores keep 2 cores busy and, on average, six
// more threads waiting, a load of 8 that is all the harness's own. Counting
// only the CPU time would leave three quarters of it to other work and mark
// the next rows loaded; counting the wait does not. A node that ends takes
// its wait out of the readings without taking its past share back.
func TestLoadJudgeCountsRunQueueWait(t *testing.T) {
	own := 8 * (1 - math.Exp(-1))
	nodes := []int{101, 102, 103, 104, 105, 106, 107, 108, 109, 110}
	for _, countWait := range []bool{true, false} {
		m := &fakeMachine{now: time.Unix(1e9, 0), loads: []LoadAverage{{0, 0, 0}, {own, 1, 1}}, waits: map[int]float64{}}
		j := m.judge()
		if !countWait {
			j.waited = func(int) float64 { return 0 }
		}
		j.nodes = nodes
		j.measure(1)
		m.now, m.cpu = m.now.Add(time.Minute), 120
		for _, pid := range nodes {
			m.waits[pid] = 36 // 360 s of waiting in a minute: six threads
		}
		l := j.measure(1)
		if l.loaded == countWait {
			t.Fatalf("counting the run-queue wait %v: the nodes' own load judged %+v (own share %g of %g)", countWait, l, j.own, own)
		}
		if !countWait {
			continue
		}
		// Half the nodes end; the rest keep one core busy for a minute,
		// waiting no more.
		shared := j.own
		j.nodes = nodes[:5]
		m.now, m.cpu = m.now.Add(time.Minute), 180
		want := shared*math.Exp(-1) + 1*(1-math.Exp(-1))
		if j.measure(1); math.Abs(j.own-want) > 1e-9 {
			t.Fatalf("after half the nodes ended the share is %g, want %g", j.own, want)
		}
	}
}

// runQueueWait reads this process's threads' run-queue wait from
// /proc: a reader that failed to parse it would return 0 for every
// process, schedWait's cases show which lines count.
func TestRunQueueWait(t *testing.T) {
	if _, err := os.Stat("/proc/self/task"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := os.Stat("/proc/self/schedstat"); err != nil {
		t.Skip("kernel without schedstat")
	}
	// A single thread that has only ever slept may never have waited; a
	// test binary's runtime threads have, after any contention. Wait for
	// some while this goroutine's siblings spin.
	done := make(chan struct{})
	defer close(done)
	for range 8 {
		go func() {
			for {
				select {
				case <-done:
					return
				default:
					spinLoad()
				}
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for runQueueWait(os.Getpid()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no run-queue wait read for this process after 10 s of eight spinning goroutines")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if w := runQueueWait(1 << 30); w != 0 { // beyond pid_max: no such process
		t.Errorf("a missing process waited %g s", w)
	}
	for line, want := range map[string]float64{
		"11764859 13035518 4\n": 0.013035518,
		"1 2500000000 3":        2.5,
		"1 2":                   0, // not three fields
		"1 -5 3":                0,
		"1 x 3":                 0,
		"":                      0,
	} {
		if got := schedWait(strings.NewReader(line)); got != want {
			t.Errorf("schedWait(%q) = %g, want %g", line, got, want)
		}
	}
}

var spinSink atomic.Uint64

func spinLoad() {
	var sum uint64
	for i := range uint64(1 << 16) {
		sum += i * i
	}
	spinSink.Add(sum)
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
