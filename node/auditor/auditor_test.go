package auditor_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
	"github.com/riskmesh/riskmesh/accounting/audit/audittest"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/auditor"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/identity/identitytest"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

type fixture struct {
	c       *audittest.Consortium
	ids     map[string]*identity.Identity
	service *auditor.Service
	addr    string
}

func loadIdentity(t *testing.T, msp string) *identity.Identity {
	t.Helper()
	return identitytest.New(t, filepath.Join(t.TempDir(), msp), msp)
}

// newFixture registers the consortium with node identities and serves the
// auditor (as auditorMSP) on loopback.
func newFixture(t *testing.T, auditorMSP string) *fixture {
	t.Helper()
	f := &fixture{ids: map[string]*identity.Identity{}}
	keys := map[string]audittest.Keys{}
	for _, msp := range []string{audittest.Regulator, audittest.Requester, audittest.Provider} {
		id := loadIdentity(t, msp)
		f.ids[msp] = id
		keys[msp] = audittest.Keys{Sign: id.Sign, SigningKey: id.SigningKey, TLSFingerprint: id.Fingerprint[:]}
	}
	f.c = audittest.New(t, t.TempDir(), keys)
	dir := registry.New(f.c.Regulator.Ledger, registry.Options{})
	if err := dir.Refresh(audittest.Context(t)); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "auditor.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := f.ids[auditorMSP]
	f.service, err = auditor.New(auditor.Config{MSPID: auditorMSP, Ledger: f.c.Regulator.Ledger, Sign: id.Sign, DB: db, Authorizer: dir})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.service.Serve(ctx, l, func() *tls.Certificate { return &id.Certificate }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
	})
	return f
}

// call files a dispute over mutual TLS presenting cert and pinning the
// auditor's certificate.
func (f *fixture) call(t *testing.T, cert tls.Certificate, auditorMSP string, req *riskmeshv1.FileDisputeRequest) (*riskmeshv1.FileDisputeResponse, error) {
	t.Helper()
	creds := credentials.NewTLS(auditor.ClientTLS(cert, f.ids[auditorMSP].Fingerprint))
	conn, err := grpc.NewClient(f.addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return riskmeshv1.NewAuditorClient(conn).FileDispute(audittest.Context(t), req)
}

func encode(t *testing.T, c *audittest.Consortium, b audittest.Behaviour, record bool) []byte {
	t.Helper()
	tr := c.Exchange(t, b, audittest.Identifiers...)
	if record {
		c.Record(t, tr)
	}
	data, err := tr.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Fatalf("error %v, want code %s", err, want)
	}
}

func TestFileDisputeAccess(t *testing.T) {
	f := newFixture(t, audittest.Regulator)
	bad := encode(t, f.c, audittest.WrongKey, true)

	t.Run("requester gets a signed verdict", func(t *testing.T) {
		resp, err := f.call(t, f.ids[audittest.Requester].Certificate, audittest.Regulator, &riskmeshv1.FileDisputeRequest{Transcript: bad})
		if err != nil {
			t.Fatal(err)
		}
		v := resp.Verdict
		if v.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD || v.DisputeId != 1 || len(v.Checks) != 10 {
			t.Fatalf("verdict %v", v)
		}
		stored, err := f.service.Dispute(v.DisputeId)
		if err != nil || stored == nil || stored.Verdict.Verdict != v.Verdict {
			t.Fatalf("stored dispute %v, %v", stored, err)
		}
	})
	t.Run("the provider may not dispute the requester's transcript", func(t *testing.T) {
		_, err := f.call(t, f.ids[audittest.Provider].Certificate, audittest.Regulator, &riskmeshv1.FileDisputeRequest{Transcript: bad})
		wantCode(t, err, codes.PermissionDenied)
	})
	t.Run("an unregistered certificate is refused in the handshake", func(t *testing.T) {
		outsider := loadIdentity(t, "OutsiderMSP")
		_, err := f.call(t, outsider.Certificate, audittest.Regulator, &riskmeshv1.FileDisputeRequest{Transcript: bad})
		wantCode(t, err, codes.Unavailable)
	})
	t.Run("a server other than the pinned auditor is refused", func(t *testing.T) {
		// Pin the provider's fingerprint while the regulator answers.
		_, err := f.call(t, f.ids[audittest.Requester].Certificate, audittest.Provider, &riskmeshv1.FileDisputeRequest{Transcript: bad})
		wantCode(t, err, codes.Unavailable)
	})
	t.Run("malformed input", func(t *testing.T) {
		cert := f.ids[audittest.Requester].Certificate
		_, err := f.call(t, cert, audittest.Regulator, &riskmeshv1.FileDisputeRequest{Transcript: bad[:len(bad)-1]})
		wantCode(t, err, codes.InvalidArgument)
		_, err = f.call(t, cert, audittest.Regulator, &riskmeshv1.FileDisputeRequest{Transcript: bad, Reason: string(make([]byte, auditor.MaxClaimLen+1))})
		wantCode(t, err, codes.InvalidArgument)
	})
}

// TestJudgeRequiresAuditorRole: an institution without the auditor role,
// or a party to the entry, cannot judge.
func TestJudgeRequiresAuditorRole(t *testing.T) {
	f := newFixture(t, audittest.Provider)
	data := encode(t, f.c, audittest.WrongKey, true)
	if _, err := f.service.Judge(audittest.Context(t), audittest.Requester, data, ""); !errors.Is(err, auditor.ErrNotAuditor) {
		t.Fatalf("err %v, want ErrNotAuditor", err)
	}
}

// TestVerdictSignatures: both signatures verify against the auditor's
// registered key, the endorsement is accepted by the ledger for an upheld
// verdict, and the statement binds the reason.
func TestVerdictSignatures(t *testing.T) {
	f := newFixture(t, audittest.Regulator)
	ctx := audittest.Context(t)
	v, err := f.service.Judge(ctx, audittest.Requester, encode(t, f.c, audittest.CorruptElement, true), "proof failed")
	if err != nil {
		t.Fatal(err)
	}
	key := auditor.KeyFromProto(v.Key)
	st, err := audit.StatementDigest(key, accounting.Verdict(v.Verdict), [32]byte(v.ResponseDigest), v.Reason, v.DecidedAt.AsTime())
	if err != nil {
		t.Fatal(err)
	}
	reg := f.ids[audittest.Regulator]
	if err := ecsig.Verify(reg.SigningKey, st[:], v.StatementSignature); err != nil {
		t.Fatalf("statement signature: %v", err)
	}
	forged, _ := audit.StatementDigest(key, accounting.Verdict(v.Verdict), [32]byte(v.ResponseDigest), "another reason", v.DecidedAt.AsTime())
	if ecsig.Verify(reg.SigningKey, forged[:], v.StatementSignature) == nil {
		t.Fatal("the statement signature covers another reason")
	}
	err = f.c.Requester.Ledger.Reverse(ctx, accounting.Reverse{Key: key, Auditor: v.Auditor, Verdict: accounting.VerdictUpheld, Signature: v.EndorsementSignature})
	if err != nil {
		t.Fatalf("the ledger refuses the endorsement: %v", err)
	}
}

// TestReversalAfterSnapshotRefused: once the period is snapshotted the
// auditor rejects (the charge is final) and the ledger refuses a reversal.
func TestReversalAfterSnapshotRefused(t *testing.T) {
	f := newFixture(t, audittest.Regulator)
	ctx := audittest.Context(t)
	data := encode(t, f.c, audittest.WrongKey, true)
	upheld, err := f.service.Judge(ctx, audittest.Requester, encode(t, f.c, audittest.WrongKey, true), "")
	if err != nil || upheld.Verdict != riskmeshv1.Verdict_VERDICT_UPHELD {
		t.Fatalf("verdict %v, %v", upheld, err)
	}
	f.c.Settle(t)
	if _, err := f.c.Regulator.Ledger.TakeSnapshot(ctx, f.c.Period); err != nil {
		t.Fatal(err)
	}
	v, err := f.service.Judge(ctx, audittest.Requester, data, "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict != riskmeshv1.Verdict_VERDICT_REJECTED {
		t.Fatalf("verdict after the snapshot %v, want rejected", v)
	}
	err = f.c.Requester.Ledger.Reverse(ctx, accounting.Reverse{Key: auditor.KeyFromProto(upheld.Key), Auditor: upheld.Auditor, Verdict: accounting.VerdictUpheld, Signature: upheld.EndorsementSignature})
	if !errors.Is(err, accounting.ErrPeriodClosed) {
		t.Fatalf("reversal after the snapshot: %v, want ErrPeriodClosed", err)
	}
}

// TestStoreBoundedByLedger: a transcript of an entry the ledger does not
// have is answered but not kept, and filing for one entry again replaces
// its rejection instead of adding a record.
func TestStoreBoundedByLedger(t *testing.T) {
	f := newFixture(t, audittest.Regulator)
	ctx := audittest.Context(t)
	v, err := f.service.Judge(ctx, audittest.Requester, encode(t, f.c, audittest.WrongKey, false), "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Verdict != riskmeshv1.Verdict_VERDICT_REJECTED || v.DisputeId != 0 {
		t.Fatalf("verdict on a missing entry %v, want rejected and not kept", v)
	}
	honest := encode(t, f.c, audittest.Honest, true)
	first, err := f.service.Judge(ctx, audittest.Requester, honest, "label believed wrong")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.service.Judge(ctx, audittest.Requester, honest, "label still believed wrong")
	if err != nil {
		t.Fatal(err)
	}
	if first.DisputeId != 1 || again.DisputeId != 1 {
		t.Fatalf("dispute ids %d and %d, want the entry's one dispute (1) both times", first.DisputeId, again.DisputeId)
	}
	if rec, err := f.service.Dispute(2); err != nil || rec != nil {
		t.Fatalf("a second record was kept: %v, %v", rec, err)
	}
	if rec, err := f.service.Dispute(1); err != nil || rec.Claim != "label still believed wrong" {
		t.Fatalf("dispute 1 %v, %v: want the latest filing", rec, err)
	}
}

// gateLedger holds every registry read until released, so a test can keep
// a dispute in flight.
type gateLedger struct {
	audit.Ledger
	entered chan struct{}
	release chan struct{}
}

func (g gateLedger) Institution(ctx context.Context, msp string) (*accounting.Institution, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.Ledger.Institution(ctx, msp)
}

// TestInFlightBound: an institution with MaxInFlight disputes being judged
// gets ErrBusy for the next one, and is served again once one returns.
func TestInFlightBound(t *testing.T) {
	f := newFixture(t, audittest.Regulator)
	ctx := audittest.Context(t)
	data := encode(t, f.c, audittest.WrongKey, true)
	gate := gateLedger{Ledger: f.c.Regulator.Ledger, entered: make(chan struct{}, 4), release: make(chan struct{})}
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "auditor.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := auditor.New(auditor.Config{
		MSPID: audittest.Regulator, Ledger: gate, Sign: f.ids[audittest.Regulator].Sign, DB: db, MaxInFlight: 1,
		Authorizer: peer.AuthorizerFunc(func([32]byte) (string, error) { return "", errors.New("unused") }),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := svc.Judge(ctx, audittest.Requester, data, "")
		done <- err
	}()
	<-gate.entered
	if _, err := svc.Judge(ctx, audittest.Requester, data, ""); !errors.Is(err, auditor.ErrBusy) {
		t.Fatalf("second dispute in flight: %v, want ErrBusy", err)
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Judge(ctx, audittest.Requester, data, ""); err != nil {
		t.Fatalf("after the first returned: %v", err)
	}
}
