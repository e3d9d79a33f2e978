package fabric

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a process gets to exit after SIGTERM before its whole
// process group is killed.
const stopGrace = 10 * time.Second

// process is one long-running child (orderer, peer, chaincode server). Its pid
// and executable are written to a pid file so that a different invocation
// (`fabricnet down`) can stop exactly this process and nothing else.
type process struct {
	name    string
	path    string // the executable, as recorded in the pid file
	pid     int
	pidFile string
	logFile string
	done    chan struct{} // closed when the child was reaped; nil if not our child
}

// spawner starts children from one goroutine locked to its OS thread. Linux
// delivers the parent-death signal when the thread that forked the child
// exits, not the process; a dedicated thread that lives as long as the
// network makes Pdeathsig mean "the test binary died" (panic, -timeout), and
// nothing else.
type spawner struct {
	reqs chan spawnRequest
}

type spawnRequest struct {
	cmd   *exec.Cmd
	reply chan error
}

func newSpawner() *spawner {
	s := &spawner{reqs: make(chan spawnRequest)}
	go func() {
		runtime.LockOSThread()
		// The goroutine never unlocks: when close ends the loop, the thread
		// exits with it, after every child has already been stopped.
		for r := range s.reqs {
			r.reply <- r.cmd.Start()
		}
	}()
	return s
}

func (s *spawner) start(cmd *exec.Cmd) error {
	reply := make(chan error, 1)
	s.reqs <- spawnRequest{cmd: cmd, reply: reply}
	return <-reply
}

func (s *spawner) close() { close(s.reqs) }

// startProcess starts path with args and env in its own process group,
// appending stdout and stderr to logFile, and records it in pidFile.
func startProcess(sp *spawner, name, path string, args, env []string, dir, logFile, pidFile string, killWithParent bool) (*process, error) {
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", name, err)
	}
	defer log.Close() // the child holds its own descriptor

	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if killWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := sp.start(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, path: path, pid: cmd.Process.Pid, pidFile: pidFile, logFile: logFile, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait() // reap; the exit status is in the log
		close(p.done)
	}()
	if err := os.WriteFile(pidFile, formatPidFile(p.pid, path), 0o644); err != nil {
		_ = p.stop()
		return nil, fmt.Errorf("write pid file of %s: %w", name, err)
	}
	return p, nil
}

// exited reports whether the process is gone (or a zombie nobody reaps yet).
func (p *process) exited() bool {
	if p.done != nil {
		select {
		case <-p.done:
			return true
		default:
			return false
		}
	}
	return !pidAlive(p.pid)
}

// stop terminates the process group with SIGTERM, escalates to SIGKILL after
// stopGrace, and removes the pid file. Calling it again is harmless.
func (p *process) stop() error {
	if !p.exited() {
		_ = syscall.Kill(-p.pid, syscall.SIGTERM)
		deadline := time.Now().Add(stopGrace)
		for !p.exited() && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !p.exited() {
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			deadline = time.Now().Add(stopGrace)
			for !p.exited() && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	if !p.exited() {
		return fmt.Errorf("fabric: %s (pid %d) survived SIGKILL", p.name, p.pid)
	}
	_ = os.Remove(p.pidFile)
	return nil
}

// readPidFile loads a pid file written by startProcess. It returns a process
// only if that pid still runs the recorded executable, so a pid reused by an
// unrelated program after a reboot or a crash is never signalled.
func readPidFile(pidFile string) (*process, error) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil, err
	}
	pid, path, err := parsePidFile(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, pidFile)
	}
	p := &process{
		name:    strings.TrimSuffix(filepath.Base(pidFile), ".pid"),
		path:    path,
		pid:     pid,
		pidFile: pidFile,
	}
	if !pidRuns(pid, p.path) {
		p.pid = 0
	}
	return p, nil
}

// formatPidFile and parsePidFile define the pid file: the decimal pid and
// the absolute path of the executable, one per line.
func formatPidFile(pid int, path string) []byte {
	return []byte(fmt.Sprintf("%d\n%s\n", pid, path))
}

func parsePidFile(b []byte) (pid int, path string, err error) {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 {
		return 0, "", ErrBadPidFile
	}
	pid, err = strconv.Atoi(lines[0])
	// pid 1 is init and never ours; a relative or empty path cannot be
	// compared with /proc/<pid>/cmdline.
	if err != nil || pid <= 1 || strconv.Itoa(pid) != lines[0] || !filepath.IsAbs(lines[1]) {
		return 0, "", ErrBadPidFile
	}
	return pid, lines[1], nil
}

// stopPidFiles stops every process recorded in dir/*.pid.
func stopPidFiles(dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.pid"))
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		p, err := readPidFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if p.pid == 0 { // already gone or reused: only the stale file remains
			_ = os.Remove(f)
			continue
		}
		errs = append(errs, p.stop())
	}
	return errors.Join(errs...)
}

// pidAlive reports whether pid exists and is not a zombie.
func pidAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself
	// contain spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	return b[i+2] != 'Z'
}

// pidRuns reports whether pid is alive and was started from executable path.
func pidRuns(pid int, path string) bool {
	if !pidAlive(pid) {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	return string(argv0) == path
}
