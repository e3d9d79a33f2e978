package daemon_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/riskmesh/riskmesh/node/daemon"
)

// syncBuffer is a log destination the node's goroutines write to while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestWarnsOfPlainOPRFKeysBesideSealedData starts a node, the ledger host,
// with file OPRF keys: sealed under a passphrase (the sandbox's setting) it
// warns at start, naming the KEK kind and the categories and neither the
// passphrase nor a key; unsealed, or sealed with no OPRF key, it does not.
func TestWarnsOfPlainOPRFKeysBesideSealedData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	const passphrase = "sandbox passphrase 7f3a"
	for _, tt := range []struct {
		name       string
		atRest     string
		categories []string
		warn       bool
	}{
		{"passphrase KEK, file OPRF keys", daemon.AtRestPassphrase, []string{"black", "grey"}, true},
		{"nothing sealed, file OPRF keys", daemon.AtRestNone, []string{"black"}, false},
		{"passphrase KEK, no OPRF key", daemon.AtRestPassphrase, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newMember(t, regulator, tt.categories...)
			var log syncBuffer
			cfg := daemon.Config{MSPID: m.msp, DataDir: m.dir, IdentityDir: m.idDir, PeerListen: m.endpoint,
				Ledger: daemon.LedgerConfig{Backend: daemon.BackendEmbedded},
				Logger: slog.New(slog.NewJSONHandler(&log, nil))}
			if tt.atRest != daemon.AtRestNone {
				cfg.Keys = daemon.KeysConfig{AtRest: tt.atRest, Passphrase: []byte(passphrase)}
			}
			stop := run(t, cfg)
			eventually(t, "node started", func() error {
				if !strings.Contains(log.String(), `"msg":"node started"`) {
					return fmt.Errorf("not in the log yet")
				}
				return nil
			})
			stop()

			var warnings []map[string]any
			for line := range strings.Lines(log.String()) {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if rec["level"] == "WARN" && strings.Contains(rec["msg"].(string), "OPRF keys are plain files") {
					warnings = append(warnings, rec)
				}
			}
			if !tt.warn {
				if len(warnings) != 0 {
					t.Fatalf("warned %v, want no warning", warnings)
				}
				return
			}
			if len(warnings) != 1 {
				t.Fatalf("%d warnings of plain OPRF keys, want 1; log:\n%s", len(warnings), log.String())
			}
			w := warnings[0]
			if w["kek"] != daemon.AtRestPassphrase || fmt.Sprint(w["categories"]) != fmt.Sprint([]any{"black", "grey"}) {
				t.Errorf("warning %v: want kek passphrase and categories [black grey]", w)
			}
			if strings.Contains(log.String(), passphrase) {
				t.Error("the log holds the passphrase")
			}
		})
	}
}
