package localnet

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// process is one running `riskmesh node` this package started.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
	err    error         // its exit status, set before exited closes
}

// startProcess runs binary with args, its standard output and error (a
// JSON log) appended to logPath.
func startProcess(binary string, args []string, logPath string) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", binary, err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	return p, nil
}

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits for the exit; after timeout it kills the
// process and says so. A process that had already exited reports how.
func (p *process) stop(timeout time.Duration) error {
	if !p.running() {
		return p.exitError()
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal: %w", err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
		return p.exitError()
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("killed: no exit within %v of SIGTERM", timeout)
	}
}

// exitError is the exit status of an exited process, nil for a clean exit.
func (p *process) exitError() error {
	if p.err != nil {
		return fmt.Errorf("exited: %w", p.err)
	}
	return nil
}
