package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/riskmesh/riskmesh/internal/backoff"
)

// LoadAverage is the machine's load averages over 1, 5 and 15 minutes.
type LoadAverage [3]float64

// String writes the three averages as /proc/loadavg does.
func (l LoadAverage) String() string {
	return fmt.Sprintf("%.2f %.2f %.2f", l[0], l[1], l[2])
}

// LoadSource reads the machine's load averages: ReadLoadAverage on a
// real run, a fake in tests.
type LoadSource func() (LoadAverage, error)

// ReadLoadAverage reads /proc/loadavg.
func ReadLoadAverage() (LoadAverage, error) {
	f, err := os.Open("/proc/loadavg")
	if err != nil {
		return LoadAverage{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSystemFile))
	if err != nil {
		return LoadAverage{}, err
	}
	return parseLoadAverage(string(b))
}

// parseLoadAverage reads the first three fields of a /proc/loadavg line.
func parseLoadAverage(s string) (LoadAverage, error) {
	var l LoadAverage
	f := strings.Fields(s)
	if len(f) < 3 {
		return l, errors.New("load average: fewer than three fields")
	}
	for i := range l {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil || !(v >= 0 && v < 1e6) {
			return l, fmt.Errorf("load average: field %d is not a load", i+1)
		}
		l[i] = v
	}
	return l, nil
}

// loadTimeConstant is the 1-minute load average's: the kernel decays it by
// exp(-5s/60s) every 5 seconds.
const loadTimeConstant = 60 * time.Second

// loadPoll is how often a wait for the machine to quieten reads the load
// again: the kernel updates it every 5 seconds.
const loadPoll = 5 * time.Second

// loadJudge tells how busy the machine is with work other than the
// harness's. The 1-minute load average counts the harness's own threads,
// so right after a row that kept both cores busy it reads about 2 on an
// otherwise idle 2-core machine, and waiting for it to fall below 1 would
// pace the run at half speed while measuring nothing else's load. The
// judge therefore estimates the harness's own share the way the kernel
// averages (the time per second its threads, and those of the node
// processes it runs, spent on a core or waiting on a run queue for one,
// decayed with the same one-minute time constant) and subtracts it. The
// run-queue wait matters as much as the CPU time: ten node processes
// building catalogs on 2 cores load the machine far above 2 with 2 cores'
// worth of CPU time, and counting only the CPU left 4.7 of the load at the
// next row to "other work" (docs/benchmarks.md). Threads of the harness that
// wait for the disk count in the load but in neither time, so they are
// counted as other work: the estimate errs towards calling the machine
// busy, never idle.
type loadJudge struct {
	read LoadSource
	cpu  func() float64 // the harness's CPU seconds so far
	// waited returns the seconds the threads of process pid have waited
	// for a core so far (runQueueWait).
	waited func(pid int) float64
	// nodes are the node processes of the system being measured, children
	// of the harness whose CPU time cpu counts only once they have ended.
	nodes []int
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	own   float64 // the harness's estimated share of the 1-minute load
	at    time.Time
	cpuAt float64
	// waitAt is each process's run-queue wait at the last reading: the
	// nodes change between systems, and a process that ended takes its
	// wait with it.
	waitAt map[int]float64
}

func newLoadJudge(read LoadSource) *loadJudge {
	return &loadJudge{read: read, cpu: harnessCPU, waited: runQueueWait, now: time.Now, sleep: backoff.Sleep}
}

// rowLoad is the machine's load when a row starts.
type rowLoad struct {
	avg LoadAverage
	// other is the 1-minute load less the harness's share: the load of
	// other work, what the bound is compared with.
	other  float64
	loaded bool
	// err is why the load could not be read: the row is then marked
	// loaded, as nothing shows the machine was idle.
	err error
}

// measure reads the load now, updating the harness's share with the time
// its threads and the nodes' ran or waited for a core since the last
// reading.
func (j *loadJudge) measure(bound float64) rowLoad {
	t, c := j.now(), j.cpu()+nodesCPU(j.nodes)
	waits, waited := make(map[int]float64, len(j.nodes)+1), 0.0
	for _, pid := range append([]int{os.Getpid()}, j.nodes...) {
		waits[pid] = j.waited(pid)
		waited += max(waits[pid]-j.waitAt[pid], 0) // a new node waited all its life since
	}
	if !j.at.IsZero() {
		if dt := t.Sub(j.at).Seconds(); dt > 0 {
			keep := math.Exp(-dt / loadTimeConstant.Seconds())
			j.own = j.own*keep + (max(c-j.cpuAt, 0)+waited)/dt*(1-keep)
		}
	}
	j.at, j.cpuAt, j.waitAt = t, c, waits
	avg, err := j.read()
	if err != nil {
		return rowLoad{loaded: bound >= 0, err: err}
	}
	other := max(avg[0]-j.own, 0)
	return rowLoad{avg: avg, other: other, loaded: bound >= 0 && other >= bound}
}

// settle waits up to wait for the other work's load to fall below bound,
// reading it every loadPoll, and returns the last reading. A negative bound
// judges nothing; a wait of zero or less reads once.
func (j *loadJudge) settle(ctx context.Context, bound float64, wait time.Duration) (rowLoad, error) {
	deadline := j.now().Add(wait)
	for {
		l := j.measure(bound)
		left := deadline.Sub(j.now())
		if !l.loaded || l.err != nil || left <= 0 {
			return l, nil
		}
		if err := j.sleep(ctx, min(loadPoll, left)); err != nil {
			return l, err
		}
	}
}
