package ledgertest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// scenario carries what the ordered subtests share.
type scenario struct {
	h   Harness
	tag string // makes categories unique to this run
	seq uint64 // next sequence number

	period uint64           // the period the accounting subtests bill in
	net    map[string]int64 // expected net change of period, by institution
	keys   []accounting.EntryKey
}

// ctx bounds every call; a Fabric submit with commit wait takes well under
// this on a loaded machine.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantErr checks that err matches the sentinel.
func wantErr(t *testing.T, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("got error %v, want %v", err, sentinel)
	}
}

// wantOutcome checks one batch outcome.
func wantOutcome(t *testing.T, o accounting.Outcome, status accounting.OutcomeStatus, code chaincode.Code) {
	t.Helper()
	if o.Status != status || o.Code != code {
		t.Fatalf("entry %d: outcome %s/%s (%s), want %s/%s", o.Index, o.Status, o.Code, o.Detail, status, code)
	}
}

func (s *scenario) category(name string) string { return "t" + s.tag + "-" + name }

func (s *scenario) nextSeq() uint64 {
	s.seq++
	return s.seq
}

// entryOpts tweaks a built entry to make it bad in one way.
type entryOpts struct {
	amount        int64               // 0: count x price
	requesterSign *Identity           // who signs the request digest (default: requester)
	responderSign *Identity           // who signs the response digest (default: responder)
	requesterMSP  string              // overrides the header's requester
	responseSalt  byte                // changes the response hash
	seq           uint64              // 0: a fresh sequence number
	protocol      transcript.Protocol // 0: catalog OPRF
}

// entry builds a correctly signed entry of count items of category in
// period, from req to resp, priced at price per item.
func (s *scenario) entry(t *testing.T, req, resp *Identity, category string, period uint64, count uint32, price int64, o entryOpts) accounting.Entry {
	t.Helper()
	seq := o.seq
	if seq == 0 {
		seq = s.nextSeq()
	}
	h := &transcript.Header{
		Protocol: transcript.ProtocolCatalogOPRF, Suite: transcript.SuiteRistretto255SHA512,
		Category: category, Period: period, Requester: req.MSPID, Responder: resp.MSPID,
		Sequence: seq, Count: count,
	}
	if o.requesterMSP != "" {
		h.Requester = o.requesterMSP
	}
	if o.protocol != 0 {
		h.Protocol = o.protocol
	}
	if !h.Protocol.IsECDH() {
		// What nodes send for catalog and live exchanges (header version 3).
		h.ProofRule = transcript.ProofBinding128
	}
	hdr, err := h.MarshalBinary()
	must(t, err)
	var sb [8]byte
	binary.BigEndian.PutUint64(sb[:], seq)
	reqHash := sha256.Sum256(append([]byte("request/"+s.tag), sb[:]...))
	respHash := sha256.Sum256(append([]byte("response/"+s.tag), append(sb[:], o.responseSalt)...))
	reqDigest, err := transcript.RequestDigest(h, reqHash)
	must(t, err)
	respDigest := transcript.ResponseDigest(reqDigest, respHash)
	rs, ps := req, resp
	if o.requesterSign != nil {
		rs = o.requesterSign
	}
	if o.responderSign != nil {
		ps = o.responderSign
	}
	reqSig, err := transcript.SignRequest(rs.Sign, reqDigest)
	must(t, err)
	respSig, err := transcript.SignResponse(ps.Sign, respDigest)
	must(t, err)
	amount := o.amount
	if amount == 0 {
		amount = int64(count) * price
	}
	return accounting.Entry{
		Header: hdr, RequestHash: reqHash[:], ResponseHash: respHash[:],
		RequesterSignature: reqSig, ResponderSignature: respSig, Amount: amount,
	}
}

func keyOf(t *testing.T, e accounting.Entry) accounting.EntryKey {
	t.Helper()
	k, err := accounting.EntryKeyOf(e.Header)
	must(t, err)
	return k
}

// recordOK records entries as resp and expects every one recorded; it adds
// them to the expected net changes when they bill s.period.
func (s *scenario) recordOK(t *testing.T, resp *Identity, entries ...accounting.Entry) {
	t.Helper()
	outs, err := resp.Ledger.Record(ctx(t), entries)
	must(t, err)
	for i, o := range outs {
		wantOutcome(t, o, accounting.OutcomeRecorded, "")
		k := keyOf(t, entries[i])
		if o.Key != k {
			t.Fatalf("outcome key %+v, want %+v", o.Key, k)
		}
		if k.Period == s.period {
			s.net[k.Requester] -= entries[i].Amount
			s.net[k.Responder] += entries[i].Amount
			s.keys = append(s.keys, k)
		}
	}
}

// newIdentity returns id with a fresh signing key, as a rotation makes.
func newIdentity(t *testing.T, id *Identity) *Identity {
	t.Helper()
	key, pub, err := ecsig.GenerateKey(rand.Reader)
	must(t, err)
	return &Identity{MSPID: id.MSPID, Ledger: id.Ledger, Sign: ecsig.NewSigner(key, rand.Reader), PublicKey: pub}
}

// endorse returns an auditor's endorsement of key with verdict v, signed by
// signer.
func endorse(t *testing.T, auditor string, signer *Identity, key accounting.EntryKey, v accounting.Verdict) accounting.Reverse {
	t.Helper()
	d, err := accounting.EndorsementDigest(key, v)
	must(t, err)
	sig, err := signer.Sign(d[:])
	must(t, err)
	return accounting.Reverse{Key: key, Auditor: auditor, Verdict: v, Signature: sig}
}

// reverseOK reverses key as its requester and updates the expected net.
func (s *scenario) reverseOK(t *testing.T, req *Identity, key accounting.EntryKey) {
	t.Helper()
	e, err := req.Ledger.Entry(ctx(t), key)
	must(t, err)
	must(t, req.Ledger.Reverse(ctx(t), endorse(t, RegulatorMSP, &s.h.Regulator, key, accounting.VerdictUpheld)))
	s.net[key.Requester] += e.Amount
	s.net[key.Responder] -= e.Amount
}

// settleAll runs Settle steps until done and returns the steps taken and the
// last result.
func settleAll(t *testing.T, l accounting.Ledger, period uint64, step int) (int, *accounting.SettleResult) {
	t.Helper()
	for n := 1; ; n++ {
		res, err := l.Settle(ctx(t), period, step)
		must(t, err)
		if res.Done {
			return n, res
		}
		if n > 1_000_000 {
			t.Fatal("settlement does not finish")
		}
	}
}

// categoryPrices is what the regulator sets for one category: its catalog
// price and, with mode set, its price in that mode.
type categoryPrices struct {
	category  string
	catalog   int64
	mode      accounting.Mode // "": the catalog price alone
	modePrice int64
}

// openPriced sets prices as the regulator, snapshots every period before
// the current one (so that the current one may enter its grace window) and
// rolls over: the period it returns is the first to apply the prices.
func (s *scenario) openPriced(t *testing.T, prices ...categoryPrices) *accounting.Period {
	t.Helper()
	reg := s.h.Regulator.Ledger
	for _, p := range prices {
		must(t, reg.SetPrice(ctx(t), p.category, p.catalog))
		if p.mode != "" {
			must(t, reg.SetModePrice(ctx(t), p.category, p.mode, p.modePrice))
		}
	}
	cur, err := reg.Period(ctx(t), 0)
	must(t, err)
	snapshotThrough(t, reg, cur.Number-1)
	p, err := reg.Rollover(ctx(t))
	must(t, err)
	return p
}
