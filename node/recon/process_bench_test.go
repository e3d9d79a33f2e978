package recon

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/internal/cputime"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// responderDirEnv, when set, makes TestResponderProcess the responder of
// BenchmarkReconcileProcesses, working in that directory.
const responderDirEnv = "RISKMESH_RECON_RESPONDER_DIR"

// processTimeout bounds a process benchmark's run and every peer phase
// in it (a 10^7 list is read within the open's handler): a 10^6 run under
// a load average of 40 on two cores outlasted 30 minutes.
const processTimeout = 3 * time.Hour

// BenchmarkReconcileProcesses runs whole both-learn reconciliations with
// proofs over real QUIC between a requester node in this process and a
// responder node in a child process (this test binary again, running
// TestResponderProcess), n rows a side with half of them shared, each
// side's list a CSV file read through node/lists as a node reads it. So
// each side's peak RSS is its own: the requester's is this process's
// getrusage maxrss, the responder's the child's. Peak RSS only grows
// within a process: run one size per invocation, e.g.
// -bench 'ReconcileProcesses/1000000$'. CPU is both processes' user and
// system time, per item of both sides (2n).
func BenchmarkReconcileProcesses(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000, 10_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			must(b, writeDeviceList(filepath.Join(dir, "requester.csv"), 0, n))
			must(b, writeDeviceList(filepath.Join(dir, "responder.csv"), n/2, n+n/2))
			seq := uint64(0)
			var cpu time.Duration
			var respRSS int64
			for b.Loop() {
				seq++
				c, rss := reconcileWithChild(b, dir, n, seq)
				cpu += c
				respRSS = max(respRSS, rss)
			}
			b.ReportMetric(float64(cpu.Microseconds())/float64(2*n*b.N), "core-µs/item")
			b.ReportMetric(float64(maxRSS(syscall.RUSAGE_SELF))/1024, "requester-MB")
			b.ReportMetric(float64(respRSS)/1024, "responder-MB")
		})
	}
}

// reconcileWithChild starts the responder process, reconciles with it and
// returns both processes' CPU time during the run and the responder's
// peak RSS in KiB.
func reconcileWithChild(b *testing.B, dir string, n int, seq uint64) (time.Duration, int64) {
	ctx, cancel := context.WithTimeout(b.Context(), processTimeout)
	defer cancel()
	run := filepath.Join(dir, strconv.FormatUint(seq, 10))
	must(b, os.Mkdir(run, 0o700))
	me := newMember(b, bankA)
	cert, err := selfsigned.New(bankA, nil, nil, time.Now())
	must(b, err)
	fp := peer.FingerprintOf(cert.Certificate[0])
	must(b, os.WriteFile(filepath.Join(run, "requester.id"), []byte(hex.EncodeToString(me.pub)+" "+hex.EncodeToString(fp[:])), 0o600))

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run", "^TestResponderProcess$", "-test.count", "1")
	cmd.Env = append(os.Environ(), responderDirEnv+"="+run)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	must(b, err)
	stdout, err := cmd.StdoutPipe()
	must(b, err)
	cpu0 := cputime.Self()
	must(b, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()
	lines := bufio.NewScanner(stdout)
	ready, err := childLine(lines, "ready")
	must(b, err)
	if len(ready) != 3 {
		b.Fatalf("responder process: %q", ready)
	}
	other, auth, err := otherSide(bankB, ready[1], ready[2])
	must(b, err)
	members := consortium{bankA: me, bankB: other}
	src, err := deviceSource(filepath.Join(dir, "requester.csv"))
	must(b, err)
	db := openDB(b, filepath.Join(run, "requester.db"))
	req, err := New(Config{MSPID: bankA, Sign: me.sign, Keys: members.keys, Dir: filepath.Join(run, "requester"), DB: db,
		Lists: []List{{Name: "mine", Category: "loans", Code: 1, Source: src}}})
	must(b, err)
	conn, err := peer.Dial(ctx, ready[0], peer.Config{Certificate: cert, Authorizer: auth})
	must(b, err)
	defer conn.Close()
	res, err := req.Reconcile(ctx, conn.Do, request(transcript.ProtocolECDHBothLearn, seq))
	must(b, err)
	if res.Matches != n/2 {
		b.Fatalf("%d matches, want %d", res.Matches, n/2)
	}
	must(b, stdin.Close()) // the responder reports and exits
	done, err := childLine(lines, "done")
	must(b, err)
	must(b, cmd.Wait())
	if len(done) != 3 {
		b.Fatalf("responder process: %q", done)
	}
	matches, err1 := strconv.Atoi(done[0])
	respCPU, err2 := time.ParseDuration(done[1])
	rss, err3 := strconv.ParseInt(done[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		b.Fatalf("responder process: %q: %v", done, err)
	}
	if matches != n/2 {
		b.Fatalf("the responder matched %d rows, want %d", matches, n/2)
	}
	return cputime.Self() - cpu0 + respCPU, rss
}

// childLine reads the responder process's next line, which must start
// with word, and returns its other fields.
func childLine(sc *bufio.Scanner, word string) ([]string, error) {
	if !sc.Scan() {
		return nil, fmt.Errorf("responder process ended before %q: %w", word, errors.Join(sc.Err(), io.ErrUnexpectedEOF))
	}
	f := strings.Fields(sc.Text())
	if len(f) == 0 || f[0] != word {
		return nil, fmt.Errorf("responder process printed %q, want %q", sc.Text(), word)
	}
	return f[1:], nil
}

// TestResponderProcess is the responder of BenchmarkReconcileProcesses, in
// the child process it starts; in an ordinary test run it is skipped. It
// prints "ready <address> <signing key> <certificate fingerprint>", serves
// until its standard input closes, then prints "done <matches> <CPU time>
// <peak RSS in KiB>".
func TestResponderProcess(t *testing.T) {
	run := os.Getenv(responderDirEnv)
	if run == "" {
		t.Skip("runs only as BenchmarkReconcileProcesses's responder process")
	}
	ctx, cancel := context.WithTimeout(t.Context(), processTimeout)
	defer cancel()
	raw, err := os.ReadFile(filepath.Join(run, "requester.id"))
	must(t, err)
	f := strings.Fields(string(raw))
	if len(f) != 2 {
		t.Fatalf("requester file: %q", raw)
	}
	other, auth, err := otherSide(bankA, f[0], f[1])
	must(t, err)
	me := newMember(t, bankB)
	members := consortium{bankB: me, bankA: other}
	src, err := deviceSource(filepath.Join(filepath.Dir(run), "responder.csv"))
	must(t, err)
	db := openDB(t, filepath.Join(run, "responder.db"))
	node, err := New(Config{MSPID: bankB, Sign: me.sign, Keys: members.keys, Dir: filepath.Join(run, "responder"), DB: db,
		Lists: []List{{Name: "loans", Category: "loans", Code: 1, Source: src}}, Grants: grantAll(bankA), IdleTimeout: processTimeout})
	must(t, err)
	cert, err := selfsigned.New(bankB, nil, nil, time.Now())
	must(t, err)
	srv, err := peer.Listen(ctx, "127.0.0.1:0", peer.Config{Certificate: cert, Authorizer: auth, Handler: node.Handle,
		ReadTimeout: processTimeout, HandleTimeout: processTimeout, WriteTimeout: processTimeout, MaxRequestSize: riskmeshv1.MaxReconStepSize})
	must(t, err)
	defer srv.Close()
	fp := peer.FingerprintOf(cert.Certificate[0])
	fmt.Printf("ready %s %s %s\n", srv.Addr(), hex.EncodeToString(me.pub), hex.EncodeToString(fp[:]))
	_, _ = io.Copy(io.Discard, os.Stdin)
	list := node.List()
	if len(list) != 1 || list[0].GetState() != StateDone {
		t.Fatalf("reconciliations %v, want one done", list)
	}
	fmt.Printf("done %d %s %d\n", list[0].GetMatches(), cputime.Self(), maxRSS(syscall.RUSAGE_SELF))
}

// otherSide is the institution msp in the other process, from its signing
// key and its certificate's fingerprint in hex, and the authorizer that
// admits that certificate only.
func otherSide(msp, pubHex, fpHex string) (*member, peer.AuthorizerFunc, error) {
	pub, err := hex.DecodeString(pubHex)
	fp, ferr := hex.DecodeString(fpHex)
	if err = errors.Join(err, ferr); err == nil && len(fp) != 32 {
		err = fmt.Errorf("fingerprint of %d bytes", len(fp))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s's identity: %w", msp, err)
	}
	auth := func(got [32]byte) (string, error) {
		if got == [32]byte(fp) {
			return msp, nil
		}
		return "", errors.New("unknown certificate")
	}
	return &member{msp: msp, pub: pub}, auth, nil
}

// writeDeviceList writes a CSV list of device ids d<i> for i in [lo, hi).
func writeDeviceList(path string, lo, hi int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,category,reason,listed")
	for i := lo; i < hi; i++ {
		fmt.Fprintf(w, "d%010d,1,%d,2026-01-02\n", i, i%65536)
	}
	return errors.Join(w.Flush(), f.Close())
}

func deviceSource(path string) (lists.Source, error) {
	return lists.NewDelimited(lists.File(path), lists.DelimitedConfig{Mapping: lists.Mapping{ID: "id", FixedType: ident.Device,
		Category: "category", Reason: "reason", Listed: "listed"}})
}

// maxRSS is the peak resident set size of who in KiB (getrusage).
func maxRSS(who int) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return ru.Maxrss
}
