package push

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// The crash test's child: the process that records events and delivers
// them, killed with SIGKILL at random moments.
const (
	childEnv     = "RISKMESH_PUSH_CRASH_CHILD"
	crashEvents  = 300 // events recorded over all the child's lives
	crashQueries = 6   // streams they are spread over
)

// bucketTruth is where the child keeps, in the transaction that records
// each event, what it recorded: the ground truth the parent checks the
// receiver against.
var (
	bucketTruth    = []byte("test/truth")
	bucketProgress = []byte("test/progress")
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := crashChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild records the events still to record, each in a transaction
// that also stores it in bucketTruth, while delivering; it returns once
// all are recorded and delivered.
func crashChild(dir string) error {
	db, err := bolt.Open(filepath.Join(dir, "node.db"), 0o600, &bolt.Options{Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	url, err := os.ReadFile(filepath.Join(dir, "url"))
	if err != nil {
		return err
	}
	hook, err := NewWebhook(WebhookConfig{URL: string(url), Secret: testSecret, TLS: tlsWithCA(filepath.Join(dir, "ca.pem"))})
	if err != nil {
		return err
	}
	o, err := Open(Config{DB: db, MSPID: "BankA", MaxAttempts: 1 << 20, MinBackoff: 2 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Destinations: []Destination{{Name: "hook", Sender: hook}}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = o.Run(ctx) }()
	for {
		var p uint64
		err := db.Update(func(tx *bolt.Tx) error {
			truth, err := tx.CreateBucketIfNotExists(bucketTruth)
			if err != nil {
				return err
			}
			prog, err := tx.CreateBucketIfNotExists(bucketProgress)
			if err != nil {
				return err
			}
			if v := prog.Get([]byte("p")); v != nil {
				p = uint64(v[0])<<8 | uint64(v[1])
			}
			if p >= crashEvents {
				return nil
			}
			ev := providerPart(fmt.Sprintf("q%d", p%crashQueries), fmt.Sprintf("P%d", p), int64(p))
			if err := o.RecordTx(tx, ev); err != nil {
				return err
			}
			v, err := proto.Marshal(ev)
			if err != nil {
				return err
			}
			if err := truth.Put([]byte(ev.EventId), v); err != nil {
				return err
			}
			return prog.Put([]byte("p"), []byte{byte((p + 1) >> 8), byte(p + 1)})
		})
		if err != nil {
			return err
		}
		if p >= crashEvents {
			break
		}
		time.Sleep(time.Duration(rand.N(6000)) * time.Microsecond)
	}
	for o.Stats()[0].Depth > 0 {
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// The node is killed with SIGKILL, and the receiver stopped abruptly, at
// random moments while events are recorded and delivered: in the end every
// event recorded arrived, the first delivery of each in recording order
// within its query, every copy of an event identical to what was recorded,
// and no event arrived that was not recorded.
func TestCrashDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes")
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, seed))
	dir := t.TempDir()
	rc := newReceiver(t)
	writeFile(t, filepath.Join(dir, "url"), rc.url())
	data, err := os.ReadFile(rc.caFile)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "ca.pem"), string(data))

	const kills = 10
	killed := 0
lives:
	for life := 0; ; life++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		log, err := os.Create(filepath.Join(dir, fmt.Sprintf("child-%d.log", life)))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait(); log.Close() }()
		if killed == kills { // the last life runs to the end
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("last life of the child: %v (%s)", err, filepath.Join(dir, fmt.Sprintf("child-%d.log", life)))
				}
			case <-time.After(45 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("the child did not finish")
			}
			break
		}
		receiverDown := rnd.IntN(3) == 0
		select {
		case err := <-exited: // finished before its kill
			if err != nil {
				t.Fatalf("child: %v", err)
			}
			break lives
		case <-time.After(time.Duration(50+rnd.IntN(300)) * time.Millisecond):
		}
		if receiverDown {
			rc.stop()
		}
		time.Sleep(time.Duration(rnd.IntN(150)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		<-exited
		killed++
		if receiverDown {
			if err := rc.restart(); err != nil {
				t.Fatal(err)
			}
		}
	}

	db := openDB(t, dir)
	truth := map[string]*riskmeshv1.PushEvent{}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTruth).ForEach(func(k, v []byte) error {
			ev := new(riskmeshv1.PushEvent)
			if err := proto.Unmarshal(v, ev); err != nil {
				return err
			}
			truth[string(k)] = ev
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(truth) != crashEvents {
		t.Fatalf("the child recorded %d events, want %d", len(truth), crashEvents)
	}
	got := rc.deliveries()
	for _, ev := range got {
		if want, ok := truth[ev.EventId]; !ok {
			t.Fatalf("event %s delivered but never recorded", ev.EventId)
		} else if !proto.Equal(ev, want) {
			t.Fatalf("event %s delivered as\n%v\nrecorded as\n%v", ev.EventId, ev, want)
		}
	}
	order := firsts(t, got)
	for q := range crashQueries {
		stream := fmt.Sprintf("q%d", q)
		want := make([]uint64, crashEvents/crashQueries)
		for i := range want {
			want[i] = uint64(i + 1)
		}
		if !slices.Equal(order[stream], want) {
			t.Errorf("stream %s first delivered as %v, want 1 to %d in order", stream, order[stream], len(want))
		}
	}
	t.Logf("%d kills, %d events, %d deliveries (%d duplicates discarded by event id)",
		killed, len(truth), len(got), len(got)-len(truth))
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
