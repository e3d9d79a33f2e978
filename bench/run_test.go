package bench

import (
	"bytes"
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// tinyConfig is the quick suite shrunk to seconds: every protocol,
// transport and sweep, with lists of a few hundred entries.
func tinyConfig(t *testing.T) Config {
	t.Helper()
	cfg := Config{
		Batches:     []int{1, 60},
		Lists:       []int{300, 500},
		Providers:   []int{1, 3},
		Batch:       40,
		List:        300,
		ECDHMaxList: 300,
		Reps:        1,
		LoadWait:    -1, // never wait: tests run on busy machines
		Only:        []string{SweepBatch, SweepList, SweepProviders},
		TempDir:     shortTempDir(t),
		NodeBinary:  testNodeBinary(t),
		Logger:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if _, err := exec.LookPath("go"); err == nil {
		cfg.MatchDir = "baselines/match"
	} else {
		t.Log("go not on PATH: the DHPSI baseline is not built")
	}
	return cfg
}

func TestRunMeasuresEveryPointWithCorrectResults(t *testing.T) {
	cfg := tinyConfig(t)
	rows, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(&buf)
	if err != nil {
		t.Fatalf("reading the CSV back: %v", err)
	}
	if len(back) != len(rows) {
		t.Fatalf("read %d rows back, wrote %d", len(back), len(rows))
	}

	full, _ := cfg.withDefaults()
	pts := plan(&full)
	for _, p := range pts {
		var queries []Row
		for _, r := range back {
			if r.Sweep == p.sweep && r.Protocol == p.protocol && r.Transport == p.transport &&
				r.Providers == p.providers && r.List == p.list && r.Batch == p.batch {
				switch r.Phase {
				case PhaseQuery:
					queries = append(queries, r)
				case PhaseSkipped:
					if p.skip == "" {
						t.Errorf("%+v skipped: %s", p, r.Note)
					}
				}
			}
		}
		if p.skip != "" {
			continue
		}
		if len(queries) != cfg.Reps {
			t.Errorf("%+v: %d query rows, want %d", p, len(queries), cfg.Reps)
			continue
		}
		for _, q := range queries {
			if q.Hits != q.WantHits || q.Seconds <= 0 || q.Items != p.batch*p.providers {
				t.Errorf("%+v: hits %d of %d planted, %d items in %g s", p, q.Hits, q.WantHits, q.Items, q.Seconds)
			}
			if (p.protocol == ProtocolCatalog || p.protocol == ProtocolLive) && (q.BytesUp <= 0 || q.BytesDown <= 0) {
				t.Errorf("%+v: %d bytes up, %d down", p, q.BytesUp, q.BytesDown)
			}
			if p.batch >= 40 && q.WantHits == 0 {
				t.Errorf("%+v: no hit planted", p)
			}
			if q.GoVersion == "" || q.NumCPU < 1 || q.GOMAXPROCS < 1 || q.Date == "" || q.CPU == "" {
				t.Errorf("%+v: machine not recorded: %+v", p, q.Machine)
			}
		}
	}
}

// testWriter sends a logger's lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// The wan sweep's inside part measures its points on the network it runs
// in; here plain loopback stands in for the emulated link.
func TestRunWANMeasuresTheQUICTransports(t *testing.T) {
	cfg := tinyConfig(t)
	rows, err := RunWAN(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 (2 transports x 2 batch sizes)", len(rows))
	}
	for _, r := range rows {
		if r.Sweep != SweepWAN || r.Phase != PhaseQuery || r.Hits != r.WantHits ||
			(r.Transport != TransportQUICNode && r.Transport != TransportQUICPeer) {
			t.Errorf("%+v", r)
		}
	}
}

// Without tc netem (here: no command to run inside a namespace) the wan
// sweep runs through relays that emulate the link, and says so.
func TestRunEmulatesTheWANWithRelays(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Only = []string{SweepWAN}
	cfg.WAN = WAN{Delay: 5 * time.Millisecond, Rate: 10_000_000}
	rows, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	for _, r := range rows {
		if r.Phase != PhaseQuery || r.Hits != r.WantHits || !strings.HasPrefix(r.Note, "userspace UDP relay: delay 5ms") {
			t.Errorf("%+v", r)
		}
		// Every query crosses the emulated link at least twice.
		if r.Seconds < 0.010 {
			t.Errorf("%s over %s took %g s, less than a round trip", r.Protocol, r.Transport, r.Seconds)
		}
	}
}
