package fabric

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// grpcMinPing is gRPC's floor on a client's keepalive interval, which
// Fabric's peer CLI, setting none, pings at.
const grpcMinPing = 10 * time.Second

// TestServersAcceptCLIPings: the orderer.yaml and core.yaml the network
// writes permit a ping every grpcMinPing, where Fabric's samples permit one
// a minute and disconnect the CLI with too_many_pings.
func TestServersAcceptCLIPings(t *testing.T) {
	sample := t.TempDir()
	for file, body := range map[string]string{
		"orderer.yaml": "General:\n    Keepalive:\n        ServerMinInterval: 60s\n",
		"core.yaml":    "peer:\n    keepalive:\n        minInterval: 60s\n",
	} {
		if err := os.WriteFile(filepath.Join(sample, file), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l := layout{dataDir: t.TempDir()}
	org := OrgSpec{Name: "bank1", MSPID: "Bank1MSP"}
	for _, dir := range []string{l.ordererDir(org.Name), l.peerDir(org.Name)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := writeOrdererConfig(sample, l, 27000, 0, org, nil); err != nil {
		t.Fatal(err)
	}
	if err := writePeerConfig(sample, l, 27000, 0, org); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ file, key string }{
		{filepath.Join(l.ordererDir(org.Name), "orderer.yaml"), "General.Keepalive.ServerMinInterval"},
		{filepath.Join(l.peerDir(org.Name), "core.yaml"), "peer.keepalive.minInterval"},
	} {
		doc, err := loadYAML(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := doc.get(tt.key)
		d, err := time.ParseDuration(v)
		if !ok || err != nil || d > grpcMinPing {
			t.Errorf("%s: %s = %q (%v): want at most %v", filepath.Base(tt.file), tt.key, v, err, grpcMinPing)
		}
	}
}
