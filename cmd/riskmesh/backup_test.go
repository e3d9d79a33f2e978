package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// backuper records the directory asked for and answers as a ledger host's
// node would.
type backuper struct {
	mu  sync.Mutex
	dir string
}

func (b *backuper) Backup(_ context.Context, req *riskmeshv1.BackupRequest) (*riskmeshv1.BackupResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.dir = req.GetDir()
	return &riskmeshv1.BackupResponse{
		TakenAt: timestamppb.New(time.Date(2025, 3, 1, 12, 0, 5, 0, time.UTC)),
		Files: []*riskmeshv1.BackupFile{
			{Kind: riskmeshv1.BackupKind_BACKUP_KIND_NODE_DB, Path: req.GetDir() + "/node-20250301T120005Z.db", Size: 32768, Sha256: bytes.Repeat([]byte{0xab}, 32)},
			{Kind: riskmeshv1.BackupKind_BACKUP_KIND_LEDGER, Path: req.GetDir() + "/ledger-20250301T120005Z.db", Size: 65536, Sha256: bytes.Repeat([]byte{0xcd}, 32),
				LedgerHead: &riskmeshv1.LedgerLogHead{Sequence: 42, Hash: bytes.Repeat([]byte{0x01}, 32)}},
		},
	}, nil
}

func (b *backuper) asked() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dir
}

// node backup sends an absolute directory and prints each copy and the
// ledger head in the form verify-log --head takes.
func TestNodeBackup(t *testing.T) {
	b := &backuper{}
	target := serveAPI(t, api.Config{Backup: b})
	t.Chdir(t.TempDir())
	out, err := runRoot(t, "node", "backup", "--api", target, "--dir", "backups")
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(wd, "backups")
	if b.asked() != dir {
		t.Fatalf("node asked to back up into %q, want %q", b.asked(), dir)
	}
	for _, want := range []string{
		"backup of 2025-03-01T12:00:05Z",
		dir + "/node-20250301T120005Z.db  32768 bytes  sha256 " + strings.Repeat("ab", 32),
		dir + "/ledger-20250301T120005Z.db  65536 bytes  sha256 " + strings.Repeat("cd", 32),
		"ledger log head 42:" + strings.Repeat("01", 32),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	out, err = runRoot(t, "node", "backup", "--api", target, "--dir", "/srv/backups", "--json")
	var resp riskmeshv1.BackupResponse
	if err == nil {
		err = protojson.Unmarshal([]byte(out), &resp)
	}
	if err != nil || b.asked() != "/srv/backups" || len(resp.GetFiles()) != 2 || resp.GetFiles()[1].GetLedgerHead().GetSequence() != 42 {
		t.Fatalf("--json: asked %q, %v\n%s", b.asked(), err, out)
	}
	if _, err := runRoot(t, "node", "backup", "--api", target); err == nil || !strings.Contains(err.Error(), "dir") {
		t.Errorf("backup without --dir: %v", err)
	}
	if _, err := runRoot(t, "node", "backup", "--api", "node.example:7443", "--dir", "backups"); err == nil || !strings.Contains(err.Error(), "--dir must be absolute") {
		t.Errorf("relative --dir over TCP: %v", err)
	}
	unconfigured := serveAPI(t, api.Config{})
	if _, err := runRoot(t, "node", "backup", "--api", unconfigured, "--dir", "/srv/backups"); err == nil || !strings.Contains(err.Error(), "does not offer this call") {
		t.Errorf("backup on a node without Backup: %v", err)
	}
}
