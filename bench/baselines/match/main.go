// Command match is the DHPSI baseline of the RiskMesh benchmark harness: it
// runs the DHPSI protocol of github.com/optable/match v1.4.0 (ristretto255
// Diffie-Hellman PSI) between a sender and a receiver in this process over a
// TCP connection on loopback, on the identifier sets the harness wrote, and
// prints one CSV row per repetition:
//
//	rep,seconds,cpu_seconds,intersection,digest
//
// where cpu_seconds is the process's CPU time (user and system) over the
// session, intersection is the number of identifiers the receiver learned and
// digest the hex SHA-256 of those identifiers sorted and each followed by a
// newline, so the harness can check the exact intersection without reading
// it back.
//
// It is a module of its own because optable/match's internal/util package
// only compiles with Go 1.26 under the "generic" build tag:
//
//	go run -tags generic . -receiver batch.txt -sender list.txt -reps 3
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/optable/match/pkg/dhpsi"
)

// maxItems bounds each input set, as the harness's own ECDH-PSI does.
const maxItems = 1 << 22

func main() {
	receiverFile := flag.String("receiver", "", "file of the receiver's identifiers, one per line")
	senderFile := flag.String("sender", "", "file of the sender's identifiers, one per line")
	reps := flag.Int("reps", 1, "repetitions")
	flag.Parse()
	if err := run(*receiverFile, *senderFile, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "match:", err)
		os.Exit(1)
	}
}

func run(receiverFile, senderFile string, reps int) error {
	if reps < 1 || reps > 100 {
		return fmt.Errorf("reps %d outside 1..100", reps)
	}
	receiver, err := readSet(receiverFile)
	if err != nil {
		return err
	}
	sender, err := readSet(senderFile)
	if err != nil {
		return err
	}
	fmt.Println("rep,seconds,cpu_seconds,intersection,digest")
	for rep := range reps {
		start, cpu := time.Now(), processCPU()
		got, err := intersect(context.Background(), receiver, sender)
		if err != nil {
			return fmt.Errorf("rep %d: %w", rep, err)
		}
		seconds, cpu := time.Since(start).Seconds(), processCPU()-cpu
		slices.SortFunc(got, bytes.Compare)
		h := sha256.New()
		for _, id := range got {
			h.Write(id)
			h.Write([]byte{'\n'})
		}
		fmt.Printf("%d,%g,%g,%d,%x\n", rep, seconds, cpu, len(got), h.Sum(nil))
	}
	return nil
}

// processCPU returns the CPU time this process has used, in seconds.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// readSet reads one identifier per line.
func readSet(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var set [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(set) == maxItems {
			return nil, fmt.Errorf("%s: more than %d identifiers", path, maxItems)
		}
		set = append(set, slices.Clone(sc.Bytes()))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return set, nil
}

// intersect runs one DHPSI session over a fresh loopback connection and
// returns what the receiver learned.
func intersect(ctx context.Context, receiver, sender [][]byte) ([][]byte, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	sent := make(chan error, 1)
	go func() {
		conn, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			sent <- err
			return
		}
		defer conn.Close()
		sent <- dhpsi.NewSender(conn).Send(ctx, int64(len(sender)), feed(sender))
	}()
	conn, err := l.Accept()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	got, err := dhpsi.NewReceiver(conn).Intersect(ctx, int64(len(receiver)), feed(receiver))
	return got, errors.Join(err, <-sent)
}

// feed streams a set into the channel the library reads.
func feed(set [][]byte) <-chan []byte {
	ch := make(chan []byte)
	go func() {
		defer close(ch)
		for _, id := range set {
			ch <- id
		}
	}()
	return ch
}
