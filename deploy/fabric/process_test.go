package fabric

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startSleep starts `sleep` as a network process would be started.
func startSleep(t *testing.T, sp *spawner, dir, name string) *process {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	p, err := startProcess(sp, name, sleep, []string{"60"}, nil, dir,
		filepath.Join(dir, name+".log"), filepath.Join(dir, name+".pid"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.stop() })
	// exec.Cmd.Start returns once the child has begun its exec, but the
	// kernel sets the new command line a moment later: until then
	// /proc/PID/cmdline reads empty and pidRuns says no (1 start in ~50 on
	// this machine). Wait for it, bounded.
	for deadline := time.Now().Add(5 * time.Second); !pidRuns(p.pid, p.path); {
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("%s: not running %s after start", name, sleep)
		}
		time.Sleep(time.Millisecond)
	}
	return p
}

func TestProcessStop(t *testing.T) {
	sp := newSpawner()
	defer sp.close()
	dir := t.TempDir()
	p := startSleep(t, sp, dir, "a")
	if p.exited() || !pidRuns(p.pid, p.path) {
		t.Fatal("process not running after start")
	}
	if err := p.stop(); err != nil {
		t.Fatal(err)
	}
	if !p.exited() {
		t.Fatal("process running after stop")
	}
	if _, err := os.Stat(p.pidFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pid file left behind: %v", err)
	}
	if err := p.stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestStopPidFiles(t *testing.T) {
	sp := newSpawner()
	defer sp.close()
	dir := t.TempDir()
	a := startSleep(t, sp, dir, "a")
	b := startSleep(t, sp, dir, "b")
	// A pid file whose pid runs another executable must not be signalled.
	other := startSleep(t, sp, t.TempDir(), "other")
	if err := os.WriteFile(filepath.Join(dir, "c.pid"), []byte(strconv.Itoa(other.pid)+"\n/not/the/binary\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	if err := stopPidFiles(dir); err != nil {
		t.Fatal(err)
	}
	// stopPidFiles returns once the processes are zombies; a and b count as
	// exited once their spawner has reaped them, which can come a moment later.
	for _, p := range []*process{a, b} {
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			t.Fatal("recorded processes still running")
		}
	}
	if other.exited() {
		t.Fatal("a process with a mismatching executable was stopped")
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	if len(left) != 0 {
		t.Fatalf("pid files left: %v", left)
	}
	if err := stopPidFiles(dir); err != nil {
		t.Fatalf("second stop: %v", err)
	}
}

func TestReadPidFileRejectsMalformed(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty":       "",
		"one line":    "123\n",
		"not a pid":   "abc\n/bin/sleep\n",
		"signed pid":  "+123\n/bin/sleep\n",
		"relative":    "123\nsleep\n",
		"three lines": "123\n/bin/sleep\nx\n",
		"init":        "1\n/sbin/init\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := filepath.Join(dir, "x.pid")
			if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := readPidFile(f); !errors.Is(err, ErrBadPidFile) {
				t.Fatalf("err = %v, want ErrBadPidFile", err)
			}
		})
	}
}

func FuzzParsePidFile(f *testing.F) {
	f.Add([]byte("123\n/bin/sleep\n"))
	f.Add([]byte("1\n/sbin/init\n"))
	f.Add([]byte("abc\n/x\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		pid, path, err := parsePidFile(b)
		if err != nil {
			if !errors.Is(err, ErrBadPidFile) {
				t.Fatalf("error %v is not ErrBadPidFile", err)
			}
			return
		}
		// Round trip: what parses is exactly what formatPidFile writes.
		if got := formatPidFile(pid, path); string(got) != strings.TrimSuffix(string(b), "\n")+"\n" {
			t.Fatalf("parse(%q) = %d, %q; formats back as %q", b, pid, path, got)
		}
		if pid <= 1 || !filepath.IsAbs(path) {
			t.Fatalf("accepted pid %d, path %q", pid, path)
		}
	})
}
