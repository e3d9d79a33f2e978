package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/riskmesh/riskmesh/bench/synth"
)

// buildMatch compiles the DHPSI baseline (the nested module in dir) into
// tmp. optable/match needs the "generic" build tag with Go 1.26.
func buildMatch(ctx context.Context, dir, tmp string) (string, error) {
	bin := filepath.Join(tmp, "match-baseline")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "generic", "-o", bin, ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the DHPSI baseline in %s: %w: %s", dir, err, bounded(out))
	}
	return bin, nil
}

// bounded returns the start of a tool's output for an error message.
func bounded(out []byte) string {
	const max = 2000
	if len(out) > max {
		out = out[:max]
	}
	return strings.TrimSpace(string(out))
}

// dhpsi is the second baseline: optable/match's DHPSI between its sender
// (the provider, holding the list) and its receiver (the requester, holding
// the batch), run by the baseline binary over TCP on loopback. One
// provider. The binary times the protocol itself (wall and CPU time), so
// process start and file reading are not counted.
type dhpsi struct {
	bin, dir string
}

func newDHPSI(ctx context.Context, w *workload, bin, tmp string) (*dhpsi, setupCost, error) {
	if len(w.lists) != 1 {
		return nil, setupCost{}, fmt.Errorf("DHPSI is two-party: %d providers", len(w.lists))
	}
	dir, err := os.MkdirTemp(tmp, "dhpsi-")
	if err != nil {
		return nil, setupCost{}, err
	}
	s := &dhpsi{bin: bin, dir: dir}
	if err := writeSet(filepath.Join(dir, "sender.txt"), listBytes(w)[0]); err != nil {
		return nil, setupCost{}, errors.Join(err, s.close())
	}
	return s, setupCost{}, nil
}

func writeSet(path string, set [][]byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	for _, id := range set {
		bw.Write(id)
		bw.WriteByte('\n')
	}
	return errors.Join(bw.Flush(), f.Close())
}

func (s *dhpsi) query(ctx context.Context, b *synth.Batch, _ uint64) (sample, error) {
	items := itemBytes(b)
	receiver := filepath.Join(s.dir, "receiver.txt")
	if err := writeSet(receiver, items); err != nil {
		return sample{}, err
	}
	cmd := exec.CommandContext(ctx, s.bin, "-receiver", receiver, "-sender", filepath.Join(s.dir, "sender.txt"), "-reps", "1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return sample{}, fmt.Errorf("DHPSI baseline: %w: %s", err, bounded(stderr.Bytes()))
	}
	runs, err := parseMatchOutput(bytes.NewReader(out))
	if err != nil {
		return sample{}, err
	}
	if len(runs) != 1 {
		return sample{}, fmt.Errorf("%w: DHPSI baseline printed %d rows, want 1", ErrMalformedCSV, len(runs))
	}
	var listed [][]byte
	for i := range b.Items {
		if len(b.Items[i].Hits) > 0 {
			listed = append(listed, items[i])
		}
	}
	if got, want := runs[0], matchDigest(listed); got.intersection != len(listed) || got.digest != want {
		return sample{}, fmt.Errorf("%w: DHPSI found %d identifiers, %d planted (or not the planted ones)",
			ErrWrongResult, got.intersection, len(listed))
	}
	return sample{hits: len(listed), seconds: runs[0].seconds, cpu: runs[0].cpu}, nil
}

func (s *dhpsi) close() error { return os.RemoveAll(s.dir) }

// matchRun is one row of the baseline's output.
type matchRun struct {
	seconds, cpu float64
	intersection int
	digest       [sha256.Size]byte
}

// matchDigest is what the baseline prints for an intersection: SHA-256 of
// the identifiers sorted, each followed by a newline.
func matchDigest(ids [][]byte) [sha256.Size]byte {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, bytes.Compare)
	h := sha256.New()
	for _, id := range ids {
		h.Write(id)
		h.Write([]byte{'\n'})
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// matchHeader is the first line of the baseline's output.
const matchHeader = "rep,seconds,cpu_seconds,intersection,digest"

// parseMatchOutput parses the baseline's output: the header, then rows
// numbered from 0. It reads at most 1 MiB and 100 rows.
func parseMatchOutput(r io.Reader) ([]matchRun, error) {
	sc := bufio.NewScanner(io.LimitReader(r, 1<<20))
	if !sc.Scan() || sc.Text() != matchHeader {
		return nil, fmt.Errorf("%w: DHPSI baseline output lacks its header", ErrMalformedCSV)
	}
	var runs []matchRun
	for sc.Scan() {
		if len(runs) == MaxReps {
			return nil, fmt.Errorf("%w: DHPSI baseline printed more than %d rows", ErrMalformedCSV, MaxReps)
		}
		run, err := parseMatchRow(sc.Text(), len(runs))
		if err != nil {
			return nil, fmt.Errorf("%w: DHPSI baseline row %d: %w", ErrMalformedCSV, len(runs), err)
		}
		runs = append(runs, run)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: DHPSI baseline output: %w", ErrMalformedCSV, err)
	}
	return runs, nil
}

func parseMatchRow(line string, rep int) (matchRun, error) {
	var run matchRun
	f := strings.Split(line, ",")
	if len(f) != 5 {
		return run, fmt.Errorf("%d fields, want 5", len(f))
	}
	if f[0] != strconv.Itoa(rep) {
		return run, fmt.Errorf("repetition %q, want %d", f[0], rep)
	}
	var err error
	if run.seconds, err = strconv.ParseFloat(f[1], 64); err != nil || !(run.seconds >= 0 && run.seconds < 1e9) {
		return run, fmt.Errorf("seconds %q", f[1])
	}
	if run.cpu, err = strconv.ParseFloat(f[2], 64); err != nil || !(run.cpu >= 0 && run.cpu < 1e9) {
		return run, fmt.Errorf("cpu seconds %q", f[2])
	}
	if run.intersection, err = strconv.Atoi(f[3]); err != nil || run.intersection < 0 {
		return run, fmt.Errorf("intersection %q", f[3])
	}
	d, err := hex.DecodeString(f[4])
	if err != nil || len(d) != sha256.Size {
		return run, fmt.Errorf("digest %q", f[4])
	}
	run.digest = [sha256.Size]byte(d)
	return run, nil
}
