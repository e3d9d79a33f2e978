package daemon_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// The regulator's node, which hosts the embedded ledger and also queries
// BankA, is backed up twice while it queries and BankA records the
// answers on its ledger. Each backup holds a node.db with every query
// answered before the backup was asked for, recorded as no longer running
// (the requester's log holds the last writes it told durable for up to
// groupcommit.FoldAfter before node.db does: a copy that did not fold
// them first could lack them), and a ledger copy whose log verifies to the head the call
// returned, a head the live ledger still runs through after both nodes
// stop. Directories that are missing, files, or hold a file of the name a
// copy would take are refused, and nothing is replaced.
func TestBackupWhileRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two nodes")
	}
	ctx := context.Background()
	nodes := startRegulatorAndBankA(t, csvSource(t, t.TempDir(), "fraud", "+8613800000001,1,7,2024-03-01,A-1"))
	reg, admin, stopReg, stopA := nodes.reg, nodes.admin, nodes.stopReg, nodes.stopA
	if _, err := admin.Rollover(ctx); err != nil {
		t.Fatal(err)
	}
	client := apiClient(t, reg)
	eventually(t, "BankA answers the regulator", func() error {
		_, err := queryOnce(ctx, client, 1)
		return err
	})

	// Queries go on while the backups are taken.
	stop, running, load := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var (
		mu       sync.Mutex
		answered []string // the ids of the queries the load had answered
	)
	go func() {
		defer close(load)
		for i := range 1000 {
			select {
			case <-stop:
				return
			default:
			}
			id, err := queryOnce(ctx, client, i+2)
			if err != nil {
				load <- err
				return
			}
			mu.Lock()
			answered = append(answered, id)
			mu.Unlock()
			if i == 0 {
				close(running)
			}
		}
	}()
	select {
	case <-running:
	case err := <-load:
		t.Fatalf("queries before the backups: %v", err)
	}
	var backups []*riskmeshv1.BackupResponse
	var before [][]string // the queries answered before each backup was asked for
	for range 2 {
		mu.Lock()
		before = append(before, slices.Clone(answered))
		mu.Unlock()
		resp, err := client.Backup(ctx, &riskmeshv1.BackupRequest{Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		backups = append(backups, resp)
	}
	close(stop)
	if err := <-load; err != nil {
		t.Fatalf("queries during the backups: %v", err)
	}

	t.Run("refused", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		// Every name a backup could take in the next two minutes is taken.
		taken := t.TempDir()
		now := time.Now().UTC()
		for s := range 120 {
			name := filepath.Join(taken, "node-"+now.Add(time.Duration(s)*time.Second).Format("20060102T150405Z")+".db")
			if err := os.WriteFile(name, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			dir  string
			want codes.Code
		}{
			{filepath.Join(t.TempDir(), "missing"), codes.FailedPrecondition},
			{file, codes.FailedPrecondition},
			{"relative", codes.InvalidArgument},
			{taken, codes.AlreadyExists},
		} {
			if _, err := client.Backup(ctx, &riskmeshv1.BackupRequest{Dir: tc.dir}); status.Code(err) != tc.want {
				t.Errorf("Backup into %s: %v, want %v", tc.dir, err, tc.want)
			}
		}
		entries, err := os.ReadDir(taken)
		if err != nil || len(entries) != 120 {
			t.Fatalf("%d files in the refused directory (%v), want the 120 it held", len(entries), err)
		}
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join(taken, e.Name())); err != nil || string(data) != "keep" {
				t.Fatalf("%s changed: %q, %v", e.Name(), data, err)
			}
		}
	})

	stopA()
	stopReg()
	for i, resp := range backups {
		t.Run(fmt.Sprintf("backup%d", i), func(t *testing.T) {
			checkBackup(t, resp, before[i])
			head := resp.GetFiles()[1].GetLedgerHead()
			live := accounting.LogHead{Sequence: head.GetSequence(), Hash: [32]byte(head.GetHash())}
			if _, err := accounting.VerifyLogFile(ctx, filepath.Join(reg.dir, "ledger.db"), &live); err != nil {
				t.Fatalf("the live ledger does not run through the backup's head: %v", err)
			}
		})
	}
}

// checkBackup checks a regulator node's backup: node.db then the ledger,
// each file as described and alone in its directory, node.db holding each
// query of answered as no longer running, the ledger's log verifying to the
// reported head.
func checkBackup(t *testing.T, resp *riskmeshv1.BackupResponse, answered []string) {
	t.Helper()
	files := resp.GetFiles()
	if len(files) != 2 || files[0].GetKind() != riskmeshv1.BackupKind_BACKUP_KIND_NODE_DB ||
		files[1].GetKind() != riskmeshv1.BackupKind_BACKUP_KIND_LEDGER {
		t.Fatalf("backup files %v", files)
	}
	stamp := resp.GetTakenAt().AsTime().Format("20060102T150405Z")
	dir := filepath.Dir(files[0].GetPath())
	for i, f := range files {
		if want := filepath.Join(dir, []string{"node", "ledger"}[i]+"-"+stamp+".db"); f.GetPath() != want {
			t.Fatalf("copy at %s, want %s", f.GetPath(), want)
		}
		data, err := os.ReadFile(f.GetPath())
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); uint64(len(data)) != f.GetSize() || !bytes.Equal(sum[:], f.GetSha256()) {
			t.Fatalf("%s: %d bytes, digest %x; response says %d, %x", f.GetPath(), len(data), sum, f.GetSize(), f.GetSha256())
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 2 {
		t.Fatalf("backup directory holds %d entries (%v), want the 2 copies", len(entries), err)
	}

	db, err := bolt.Open(files[0].GetPath(), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range []string{"requester/queries", "requester/transcripts", "requester/sequences"} {
			if tx.Bucket([]byte(name)) == nil {
				return fmt.Errorf("no bucket %s", name)
			}
		}
		for _, id := range answered {
			if tx.Bucket([]byte("requester/queries")).Get([]byte(id)) == nil {
				return fmt.Errorf("no record of query %s, answered before the backup", id)
			}
			if tx.Bucket([]byte("requester/pending")).Get([]byte(id)) != nil {
				return fmt.Errorf("query %s, answered before the backup, still running", id)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("node.db copy: %v", err)
	}

	head, err := accounting.VerifyLogFile(context.Background(), files[1].GetPath(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := files[1].GetLedgerHead(); head.Sequence != want.GetSequence() || !bytes.Equal(head.Hash[:], want.GetHash()) || head.Sequence == 0 {
		t.Fatalf("ledger copy's head %d %x, response says %v", head.Sequence, head.Hash, want)
	}
}

// queryOnce queries one phone number, numbered n, waits for the result
// and returns the query's id.
func queryOnce(ctx context.Context, c riskmeshv1.RiskMeshClient, n int) (string, error) {
	stream, err := c.Query(ctx, &riskmeshv1.QueryRequest{Category: "black", Deadline: durationpb.New(5 * time.Second),
		Identifiers: []*riskmeshv1.Identifier{{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: fmt.Sprintf("+86138%08d", n)}}})
	if err != nil {
		return "", err
	}
	var id string
	for range 100 {
		ev, err := stream.Recv()
		if err != nil {
			return "", err
		}
		if a := ev.GetAccepted(); a != nil {
			id = a.GetQueryId()
		}
		if r := ev.GetResult(); r != nil {
			if len(r.GetProviders()) != 1 || r.GetProviders()[0].GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
				return "", fmt.Errorf("providers %v", r.GetProviders())
			}
			if id == "" {
				return "", errors.New("query stream without QueryAccepted")
			}
			return id, nil
		}
	}
	return "", errors.New("query stream without a result")
}

// consortiumFile writes the consortium file of members into host's
// directory and returns its path.
func consortiumFile(t *testing.T, host *member, members ...*member) string {
	t.Helper()
	var mems []identity.Member
	for _, m := range members {
		mem, err := identity.ReadMember(m.idDir)
		if err != nil {
			t.Fatal(err)
		}
		mems = append(mems, mem)
	}
	cons, err := identity.NewConsortium(mems)
	if err != nil {
		t.Fatal(err)
	}
	data, err := cons.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(host.dir, "consortium.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
