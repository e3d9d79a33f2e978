package fabric

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// pollInterval is how often readiness conditions are checked. Bring-up never
// sleeps for a fixed time: every wait is a condition polled at this rate.
const pollInterval = 25 * time.Millisecond

// gatewayPollInterval paces the endorsement readiness check, which signs and
// sends proposals.
const gatewayPollInterval = 100 * time.Millisecond

// maxLogTail bounds how much of a failed process's log an error carries.
const maxLogTail = 2048

var httpClient = &http.Client{Timeout: 2 * time.Second}

// waitFor polls check until it reports true, the context ends, or the process
// whose readiness this is (if any) exits.
func waitFor(ctx context.Context, what string, p *process, check func(context.Context) (bool, error)) error {
	return waitEvery(ctx, pollInterval, what, p, check)
}

// waitEvery is waitFor with its own polling interval, for checks that cost
// more than a local HTTP request.
func waitEvery(ctx context.Context, interval time.Duration, what string, p *process, check func(context.Context) (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last error
	for {
		ok, err := check(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%w: %s: %s", ErrExited, p.name, logTail(p))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w (last error: %v)", ErrNotReady, what, ctx.Err(), last)
		case <-t.C:
		}
	}
}

// httpReady reports whether GET url answers 200.
func httpReady(url string) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		body, err := httpGet(ctx, url)
		return err == nil && body != nil, err
	}
}

// metricReady reports whether the Prometheus exposition at url has a sample
// line equal to want (e.g. `consensus_etcdraft_is_leader{channel="riskmesh"} 1`).
func metricReady(url, want string) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		name, value, _ := strings.Cut(want, " ")
		samples, err := metricSamples(ctx, url)
		return err == nil && samples[name] == value, err
	}
}

// metricSamples reads the Prometheus exposition at url: each sample's name
// with its labels, as printed, to its value.
func metricSamples(ctx context.Context, url string) (map[string]string, error) {
	body, err := httpGet(ctx, url)
	if err != nil {
		return nil, err
	}
	samples := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(body))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			samples[line[:i]] = line[i+1:]
		}
	}
	return samples, s.Err()
}

// tcpReady reports whether something accepts connections at address.
func tcpReady(address string) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", address)
		if err != nil {
			return false, err
		}
		c.Close()
		return true, nil
	}
}

// maxMetricsBody bounds a /metrics or /healthz answer read during bring-up.
const maxMetricsBody = 8 << 20

func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetricsBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// logTail returns the end of a process's log for error messages.
func logTail(p *process) string {
	b, err := os.ReadFile(p.logFile)
	if err != nil {
		return "(no log)"
	}
	if len(b) > maxLogTail {
		b = b[len(b)-maxLogTail:]
	}
	return strings.TrimSpace(string(b))
}
