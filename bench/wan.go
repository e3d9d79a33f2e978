package bench

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// WAN configures the emulated wide-area sweep: the QUIC transports at the
// fixed point over a slowed-down loopback. With root, unshare, ip, tc and
// the kernel's netem qdisc, the harness runs again (Command) inside a
// fresh network namespace whose loopback interface tc netem slows down;
// otherwise the link is emulated in process by a UDP relay in front of
// every provider (same delay and rate, paced per client and direction),
// and each row's note says which and why.
type WAN struct {
	// Delay is added to every packet on the loopback interface, so the
	// round trip grows by twice Delay. Default 10 ms (20 ms round trip).
	Delay time.Duration
	// Rate limits the interface, in bits per second. Default 100 Mbit/s.
	Rate int64
	// Command is the argv of a process that runs RunWAN with this
	// configuration and writes its rows to standard output with WriteCSV
	// (`riskmesh-bench` passes itself with a hidden flag). The process is
	// started inside the namespace, with --riskmesh and the executable
	// the quic-node rows' nodes run appended.
	Command []string
}

func (w WAN) withDefaults() WAN {
	w.Delay = cmp.Or(w.Delay, 10*time.Millisecond)
	w.Rate = cmp.Or(w.Rate, 100_000_000)
	return w
}

// link describes the emulated link.
func (w WAN) link() string {
	return fmt.Sprintf("delay %s each way, rate %d Mbit/s", w.Delay, w.Rate/1_000_000)
}

// RunWAN measures the wan sweep's points on whatever network it runs in:
// catalog PSI over quic-node and ECDH-PSI over quic-peer with one provider
// of cfg.List entries, batches of 1 and cfg.Batch. It is what WAN.Command
// runs inside the emulated network.
func RunWAN(ctx context.Context, cfg Config) ([]Row, error) {
	cfg.Only = []string{SweepWAN}
	cfg.wanInner = true
	return Run(ctx, cfg)
}

// wanPoints are the points RunWAN measures.
func wanPoints(cfg *Config) []point {
	var pts []point
	for _, b := range []int{1, cfg.Batch} {
		pts = append(pts,
			point{sweep: SweepWAN, protocol: ProtocolCatalog, transport: TransportQUICNode, providers: 1, list: cfg.List, batch: b},
			point{sweep: SweepWAN, protocol: ProtocolECDH, transport: TransportQUICPeer, providers: 1, list: min(cfg.List, cfg.ECDHMaxList), batch: b})
	}
	return pts
}

// runWAN measures the wan sweep with netem if it can, else through
// relays, and returns its rows.
func runWAN(ctx context.Context, cfg *Config) ([]Row, error) {
	w := cfg.WAN.withDefaults()
	if why := wanUnavailable(ctx, w); why != "" {
		cfg.Logger.Info("wan sweep through userspace relays", "link", w.link(), "netem", why)
		inner := *cfg
		inner.wanInner, inner.relayed = true, &w
		rows, err := Run(ctx, inner)
		if err != nil {
			return nil, err
		}
		for i := range rows {
			rows[i].Note = withNote("userspace UDP relay: "+w.link()+" ("+why+")", rows[i].Note)
		}
		return rows, nil
	}
	// The shell inside the namespace brings loopback up, installs netem
	// and replaces itself with the harness.
	script := "ip link set lo up && tc qdisc add dev lo root netem delay " +
		strconv.FormatInt(w.Delay.Microseconds(), 10) + "us rate " + strconv.FormatInt(w.Rate, 10) + "bit && exec \"$@\""
	args := append([]string{"--net", "--", "sh", "-c", script, "sh"}, w.Command...)
	args = append(args, "--riskmesh", cfg.NodeBinary)
	cmd := exec.CommandContext(ctx, "unshare", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cfg.Logger.Info("wan sweep under tc netem", "link", w.link())
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("wan sweep: %w: %s", err, bounded(stderr.Bytes()))
	}
	rows, err := ReadCSV(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("wan sweep output: %w", err)
	}
	for i := range rows {
		if rows[i].Sweep != SweepWAN {
			return nil, fmt.Errorf("%w: wan sweep returned a %s row", ErrMalformedCSV, rows[i].Sweep)
		}
		rows[i].Note = withNote("tc netem on loopback: "+w.link(), rows[i].Note)
	}
	return rows, nil
}

// withNote says how the link was emulated, keeping what a row's note
// already said (a refusal under load).
func withNote(link, note string) string {
	if note == "" {
		return link
	}
	return link + "; " + note
}

// wanUnavailable says why tc netem cannot be used here, or "".
func wanUnavailable(ctx context.Context, w WAN) string {
	if len(w.Command) == 0 {
		return "no command to run inside the emulated network"
	}
	if os.Geteuid() != 0 {
		return "not root: network namespaces and tc need it"
	}
	for _, tool := range []string{"unshare", "ip", "tc", "sh"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not found"
		}
	}
	// The kernel may lack the netem qdisc (containers often do): try it in
	// a throw-away namespace.
	probe := exec.CommandContext(ctx, "unshare", "--net", "--", "sh", "-c",
		"ip link set lo up && tc qdisc add dev lo root netem delay 1ms")
	if out, err := probe.CombinedOutput(); err != nil {
		return "tc netem unavailable: " + bounded(out)
	}
	return ""
}
