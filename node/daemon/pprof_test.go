package daemon_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/riskmesh/riskmesh/node/daemon"
)

// A node serves Go's profiles on PprofListen alone: its metrics listener
// has none, and a node without PprofListen opens no profiles listener
// (node/config maps listen.pprof "off" to an empty PprofListen).
func TestProfilesListener(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	reg := newMember(t, regulator)
	consFile := consortiumFile(t, reg, newMember(t, "BankAMSP"))
	cfg := daemon.Config{MSPID: regulator, DataDir: reg.dir, IdentityDir: reg.idDir, PeerListen: reg.endpoint,
		Ledger:        daemon.LedgerConfig{Backend: daemon.BackendEmbedded, ConsortiumFile: consFile},
		MetricsListen: freeTCP(t), PprofListen: freeTCP(t)}
	stop := run(t, cfg)

	get := func(url string) (int, []byte, error) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, body, err
	}
	var (
		status int
		body   []byte
		err    error
	)
	eventually(t, "the metrics listener", func() error {
		status, body, err = get("http://" + cfg.MetricsListen + "/debug/pprof/")
		return err
	})
	if status != http.StatusNotFound {
		t.Errorf("/debug/pprof/ on the metrics listener: %d, want 404", status)
	}
	if status, body, err = get("http://" + cfg.PprofListen + "/debug/pprof/goroutine?debug=1"); err != nil || status != http.StatusOK ||
		!bytes.HasPrefix(body, []byte("goroutine profile:")) {
		t.Errorf("goroutines on the profiles listener: %d %.40q %v", status, body, err)
	}
	if status, body, err = get("http://" + cfg.PprofListen + "/debug/pprof/trace?seconds=0.05"); err != nil || status != http.StatusOK ||
		!bytes.HasPrefix(body, []byte("go 1.")) {
		t.Errorf("execution trace on the profiles listener: %d %.40q %v", status, body, err)
	}
	stop()

	off := cfg
	off.MetricsListen, off.PprofListen = freeTCP(t), ""
	run(t, off)
	eventually(t, "the metrics listener after the restart", func() error {
		_, _, err := get("http://" + off.MetricsListen + "/metrics")
		return err
	})
	if _, _, err := get("http://" + cfg.PprofListen + "/debug/pprof/"); err == nil {
		t.Errorf("a profiles listener answers at %s with PprofListen empty", cfg.PprofListen)
	}
}
