package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/daemon"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/identity/identitytest"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// runRoot runs `riskmesh args...` in-process and returns its output.
func runRoot(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func writeTranscripts(t *testing.T, ts ...*transcript.Transcript) string {
	t.Helper()
	var buf bytes.Buffer
	for _, tr := range ts {
		if _, err := tr.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "transcripts.rmtx")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// auditFixture has node identities registered, so that serve and dispute
// can use them with --identity.
func auditFixture(t *testing.T) (*audittest.Consortium, map[string]string) {
	t.Helper()
	dirs := map[string]string{}
	keys := map[string]audittest.Keys{}
	for _, msp := range []string{audittest.Regulator, audittest.Requester, audittest.Provider} {
		dir := filepath.Join(t.TempDir(), msp)
		id := identitytest.New(t, dir, msp)
		dirs[msp] = dir
		keys[msp] = audittest.Keys{Sign: id.Sign, SigningKey: id.SigningKey, TLSFingerprint: id.Fingerprint[:]}
	}
	return audittest.New(t, t.TempDir(), keys), dirs
}

func TestAuditVerify(t *testing.T) {
	c, _ := auditFixture(t)
	honest := c.Exchange(t, audittest.Honest, audittest.Identifiers...)
	bad := c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	c.Record(t, honest)
	c.Record(t, bad)
	c.Store.Close() // the command opens the file itself
	good, both := writeTranscripts(t, honest), writeTranscripts(t, honest, bad)

	t.Run("honest transcript holds", func(t *testing.T) {
		out, err := runRoot(t, "audit", "verify", good, "--ledger-db", c.Path)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(out, "every check holds") || strings.Contains(out, "fail ") {
			t.Fatalf("output:\n%s", out)
		}
	})
	t.Run("a failed check fails the command and is named", func(t *testing.T) {
		out, err := runRoot(t, "audit", "verify", both, "--ledger-db", c.Path)
		if err == nil || !strings.Contains(err.Error(), "1 of 2") {
			t.Fatalf("err %v, want 1 of 2 failed\n%s", err, out)
		}
		if !strings.Contains(out, "fail  proof") {
			t.Fatalf("output does not name the proof:\n%s", out)
		}
	})
	t.Run("json", func(t *testing.T) {
		out, err := runRoot(t, "audit", "verify", good, "--ledger-db", c.Path, "--json")
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			OK     bool                `json:"ok"`
			Key    accounting.EntryKey `json:"key"`
			Checks []struct{ Name, Status string }
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !r.OK || r.Key.Sequence != honest.Header.Sequence || len(r.Checks) != 10 {
			t.Fatalf("report %+v", r)
		}
	})
	t.Run("needs a ledger", func(t *testing.T) {
		if _, err := runRoot(t, "audit", "verify", good); err == nil {
			t.Fatal("verify without --config or --ledger-db succeeded")
		}
	})
}

// TestAuditServe runs the service as `audit serve` does, files a dispute
// over mutual TLS, and checks the upheld endorsement reverses the entry.
func TestAuditServe(t *testing.T) {
	c, dirs := auditFixture(t)
	bad := c.Exchange(t, audittest.CorruptElement, audittest.Identifiers...)
	key := c.Record(t, bad)
	c.Store.Close()

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	a := &ledgerAccess{daemon.LedgerSource{LedgerDB: c.Path, Regulator: audittest.Regulator, IdentityDir: dirs[audittest.Regulator]}}
	go func() {
		done <- serveAuditor(ctx, a, auditor.RunConfig{Listen: "127.0.0.1:0", Ready: func(addr net.Addr) { addrs <- addr }})
	}()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}

	req, err := identity.Load(dirs[audittest.Requester])
	if err != nil {
		t.Fatal(err)
	}
	reg, err := identity.Load(dirs[audittest.Regulator])
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(credentials.NewTLS(auditor.ClientTLS(req.Certificate, reg.Fingerprint))))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := bad.MarshalBinary()
	resp, err := riskmeshv1.NewAuditorClient(conn).FileDispute(audittest.Context(t), &riskmeshv1.FileDisputeRequest{Transcript: data, Reason: "proof failed"})
	conn.Close()
	cancel()
	if serr := <-done; serr != nil {
		t.Fatalf("serve: %v", serr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if resp.Verdict.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD {
		t.Fatalf("verdict %v", resp.Verdict)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(c.Path), "auditor.db")); err != nil {
		t.Fatalf("dispute store not beside the ledger: %v", err)
	}

	store, err := accounting.OpenEmbedded(c.Path, accounting.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l, _ := store.As(audittest.Requester)
	if err := l.Reverse(audittest.Context(t), accounting.Reverse{Key: key, Auditor: audittest.Regulator, Verdict: accounting.VerdictUpheld, Signature: resp.Verdict.EndorsementSignature}); err != nil {
		t.Fatalf("the ledger refuses the served endorsement: %v", err)
	}
}

// transcriptAPI is a node's business API that only serves transcripts.
type transcriptAPI struct {
	riskmeshv1.UnimplementedRiskMeshServer
	t *transcript.Transcript
}

func (a transcriptAPI) GetTranscript(_ context.Context, req *riskmeshv1.GetTranscriptRequest) (*riskmeshv1.GetTranscriptResponse, error) {
	h := &a.t.Header
	if req.Period != h.Period || req.Responder != h.Responder || req.Sequence != h.Sequence {
		return nil, status.Error(codes.NotFound, "no such transcript")
	}
	data, err := a.t.MarshalBinary()
	return &riskmeshv1.GetTranscriptResponse{Transcript: data}, err
}

// TestDisputeCommand runs `riskmesh dispute` against a served auditor, with
// a transcript file and with an exchange fetched from the node's API. The
// auditor reads a copy of the ledger file (bbolt lets one process hold a
// file at a time), the command the original, where its reversals land.
func TestDisputeCommand(t *testing.T) {
	c, dirs := auditFixture(t)
	fromFile := c.Exchange(t, audittest.WrongKey, audittest.Identifiers...)
	fromNode := c.Exchange(t, audittest.CorruptElement, audittest.Identifiers...)
	keys := []accounting.EntryKey{c.Record(t, fromFile), c.Record(t, fromNode)}
	c.Store.Close()
	data, err := os.ReadFile(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	snapshot := filepath.Join(t.TempDir(), "ledger-copy.db")
	if err := os.WriteFile(snapshot, data, 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	a := &ledgerAccess{daemon.LedgerSource{LedgerDB: snapshot, Regulator: audittest.Regulator, IdentityDir: dirs[audittest.Regulator]}}
	go func() {
		done <- serveAuditor(ctx, a, auditor.RunConfig{Listen: "127.0.0.1:0", Ready: func(addr net.Addr) { addrs <- addr }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	common := []string{"--ledger-db", c.Path, "--identity", dirs[audittest.Requester],
		"--auditor", audittest.Regulator, "--auditor-addr", addr.String(), "--reason", "proof failed"}

	t.Run("from a file", func(t *testing.T) {
		out, err := runRoot(t, append([]string{"dispute", writeTranscripts(t, fromFile)}, common...)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(out, "upheld: the charge is reversed on the ledger") || !strings.Contains(out, "fail  proof") {
			t.Fatalf("output:\n%s", out)
		}
	})
	t.Run("from the node's API", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "api.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		riskmeshv1.RegisterRiskMeshServer(srv, transcriptAPI{t: fromNode})
		go srv.Serve(l)
		defer srv.Stop()
		h := &fromNode.Header
		entry := fmt.Sprintf("%d/%s/%d", h.Period, h.Responder, h.Sequence)
		out, err := runRoot(t, append([]string{"dispute", "--api", "unix://" + sock, "--entry", entry, "--json"}, common...)...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var o struct{ Reversed bool }
		if err := json.Unmarshal([]byte(out), &o); err != nil || !o.Reversed {
			t.Fatalf("outcome %s (%v), want reversed", out, err)
		}
		if _, err := runRoot(t, append([]string{"dispute", "--api", "unix://" + sock, "--entry", "1/Bank2MSP"}, common...)...); err == nil {
			t.Fatal("a malformed --entry was accepted")
		}
	})

	store, err := accounting.OpenEmbedded(c.Path, accounting.EmbeddedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l, _ := store.As(audittest.Requester)
	for _, key := range keys {
		e, err := l.Entry(audittest.Context(t), key)
		if err != nil || e.Reversal == nil {
			t.Fatalf("entry %+v, %v: want reversed", e, err)
		}
	}
}
