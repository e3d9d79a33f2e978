// Package audittest builds what audit tests need on a real embedded ledger:
// a regulator that is also the consortium's auditor, a requester and a
// provider with registered signing and OPRF keys, an open priced period,
// and real catalog-PSI exchanges (psi/oprf blinding, psi/catalogpsi
// evaluation, signed transcripts) from an honest or a misbehaving provider.
package audittest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/testwait"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// The fixture's institutions and its priced category.
const (
	Regulator = accounting.DefaultRegulator // also the auditor
	Requester = "Bank1MSP"
	Provider  = "Bank2MSP"
	Category  = "black"
	Price     = 5
	// LivePrice is Category's price in live mode.
	LivePrice = 7
	// ReconPrice is Category's price per item in a reconciliation.
	ReconPrice = 2
)

// Keys are an institution's signing key and TLS fingerprint as registered.
// A test that runs real nodes passes its node identities' keys; the zero
// value makes the fixture generate a signing key and register no TLS
// fingerprint.
type Keys struct {
	Sign           ecsig.Sign
	SigningKey     []byte // PKIX DER
	TLSFingerprint []byte
	Endpoint       string
}

// Party is one institution of the fixture.
type Party struct {
	MSPID  string
	Ledger accounting.Ledger
	Keys
}

// Consortium is the fixture: one ledger and its three members.
type Consortium struct {
	// Store and Path are the embedded ledger (New); nil and empty on
	// another backend (NewOn).
	Store     *accounting.EmbeddedStore
	Path      string
	Regulator *Party
	Requester *Party
	Provider  *Party
	// OPRFKey is the provider's registered key for Category.
	OPRFKey *oprf.PrivateKey
	// Period is the open period exchanges bill in.
	Period uint64

	seq uint64
}

// Behaviour is how the provider answers an exchange.
type Behaviour int

const (
	// Honest: evaluated with the registered key, proof valid.
	Honest Behaviour = iota
	// WrongKey: evaluated and proved with a key other than the registered
	// one (the proof is valid for that key only).
	WrongKey
	// CorruptElement: honestly evaluated, then one evaluated element
	// replaced by another valid group element.
	CorruptElement
	// OtherRule: honestly evaluated with the registered key, proved under
	// a proof rule the header does not name: ProofBinding (full-size
	// weights) for a ProofBinding128 header, RFC 9497's rule for a
	// ProofBinding header, ProofBinding for an RFC 9497 one.
	OtherRule
)

// New opens an embedded ledger in dir and registers the consortium on it.
// keys overrides the generated keys per MSP id.
func New(t testing.TB, dir string, keys map[string]Keys) *Consortium {
	t.Helper()
	path := filepath.Join(dir, "ledger.db")
	store, err := accounting.OpenEmbedded(path, accounting.EmbeddedConfig{})
	must(t, err)
	t.Cleanup(func() { store.Close() })
	c := NewOn(t, func(msp string) accounting.Ledger {
		l, err := store.As(msp)
		must(t, err)
		return l
	}, keys)
	c.Store, c.Path = store, path
	return c
}

// NewOn registers the consortium on any ledger backend (a fresh one: the
// institutions must not exist yet); ledger returns the ledger acting as an
// MSP id. Store and Path stay empty.
func NewOn(t testing.TB, ledger func(msp string) accounting.Ledger, keys map[string]Keys) *Consortium {
	t.Helper()
	c := &Consortium{}
	party := func(msp string) *Party {
		p := &Party{MSPID: msp, Ledger: ledger(msp), Keys: keys[msp]}
		if p.Sign == nil {
			k, pub, err := ecsig.GenerateKey(rand.Reader)
			must(t, err)
			p.Sign, p.SigningKey = ecsig.NewSigner(k, rand.Reader), pub
		}
		return p
	}
	c.Regulator, c.Requester, c.Provider = party(Regulator), party(Requester), party(Provider)

	ctx := Context(t)
	reg := c.Regulator.Ledger
	roles := map[*Party][]accounting.Role{
		c.Regulator: {accounting.RoleAuditor},
		c.Requester: {accounting.RoleRequester},
		c.Provider:  {accounting.RoleProvider},
	}
	for _, p := range []*Party{c.Regulator, c.Requester, c.Provider} {
		must(t, reg.AddInstitution(ctx, p.MSPID, "Institution "+p.MSPID, roles[p]))
	}
	// On Fabric each institution goes through its own organisation's peer,
	// which may commit a block (its registration, the period's opening) a
	// moment after the regulator's peer did: the node's own loops allow for
	// that lag the same way.
	for _, p := range []*Party{c.Regulator, c.Requester, c.Provider} {
		testwait.Until(t, p.MSPID+"'s profile registered", 30*time.Second, func() error {
			return p.Ledger.UpdateProfile(ctx, accounting.Profile{Endpoint: p.Endpoint, TLSFingerprint: p.TLSFingerprint, SigningKey: p.SigningKey})
		})
	}
	var err error
	c.OPRFKey, err = oprf.GenerateKey(rand.Reader)
	must(t, err)
	pub, err := c.OPRFKey.Public().MarshalBinary()
	must(t, err)
	must(t, c.Provider.Ledger.SetOPRFKey(ctx, Category, pub))
	must(t, reg.SetPrice(ctx, Category, Price))
	must(t, reg.SetModePrice(ctx, Category, accounting.ModeLive, LivePrice))
	must(t, reg.SetModePrice(ctx, Category, accounting.ModeReconcile, ReconPrice))
	must(t, reg.SetLimit(ctx, Requester, 1_000_000))
	p, err := reg.Rollover(ctx)
	must(t, err)
	c.Period = p.Number
	// Exchanges are checked against the key published with the period's
	// catalog; the catalog's contents play no part in an audit.
	digest := sha256.Sum256([]byte("audittest catalog"))
	testwait.Until(t, "catalog published", 30*time.Second, func() error {
		return c.Provider.Ledger.PublishCatalog(ctx, accounting.Catalog{Category: Category, Period: c.Period, Digest: digest[:], OPRFKey: pub})
	})
	// Each party's own peer has the open period before the tests bill in it.
	for _, p := range []*Party{c.Requester, c.Provider} {
		testwait.Until(t, p.MSPID+"'s peer at the open period", 30*time.Second, func() error {
			cur, err := p.Ledger.Period(ctx, 0)
			if err == nil && cur.Number != c.Period {
				return fmt.Errorf("%s's peer is at period %d", p.MSPID, cur.Number)
			}
			return err
		})
	}
	return c
}

// Party returns the fixture's institution msp.
func (c *Consortium) Party(t testing.TB, msp string) *Party {
	t.Helper()
	for _, p := range []*Party{c.Regulator, c.Requester, c.Provider} {
		if p.MSPID == msp {
			return p
		}
	}
	t.Fatalf("audittest: no institution %s", msp)
	return nil
}

// Context bounds a test's ledger calls.
func Context(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Exchange runs one catalog-PSI exchange of ids (canonical identifiers,
// e.g. "phone:+8613800138000") from the requester to the provider and
// returns the transcript both signed. The requester blinds against the
// registered key; the provider answers as b says, under the proof rule
// every new exchange uses (transcript.ProofBinding128, header version 3).
func (c *Consortium) Exchange(t testing.TB, b Behaviour, ids ...string) *transcript.Transcript {
	t.Helper()
	return c.ExchangeUnder(t, transcript.ProofBinding128, b, ids...)
}

// ExchangeUnder is Exchange with a header naming rule: with
// transcript.ProofRFC9497, a transcript as made before the batch-binding
// rule (header version 1, proof under RFC 9497's rule); with
// transcript.ProofBinding, one from a requester not yet upgraded to
// 128-bit weights (header version 2).
func (c *Consortium) ExchangeUnder(t testing.TB, rule transcript.ProofRule, b Behaviour, ids ...string) *transcript.Transcript {
	t.Helper()
	return c.exchange(t, transcript.ProtocolCatalogOPRF, rule, b, ids...)
}

// LiveExchange is Exchange for the POPRF step of a live exchange (header
// protocol transcript.ProtocolLiveHE), which is what a live entry bills.
func (c *Consortium) LiveExchange(t testing.TB, b Behaviour, ids ...string) *transcript.Transcript {
	t.Helper()
	return c.exchange(t, transcript.ProtocolLiveHE, transcript.ProofBinding128, b, ids...)
}

func (c *Consortium) exchange(t testing.TB, protocol transcript.Protocol, rule transcript.ProofRule, b Behaviour, ids ...string) *transcript.Transcript {
	t.Helper()
	c.seq++
	info := catalogpsi.Info(Category, c.Period)
	client, err := oprf.NewClient(c.OPRFKey.Public(), info)
	must(t, err)
	inputs := make([][]byte, len(ids))
	for i, id := range ids {
		inputs[i] = []byte(id)
	}
	_, blinded, err := client.Blind(rand.Reader, inputs)
	must(t, err)

	evaluated, proof := c.answer(t, rule, b, blinded)
	tr := &transcript.Transcript{
		Header: transcript.Header{
			ProofRule: rule, Protocol: protocol, Suite: catalogpsi.Suite, Category: Category,
			Period: c.Period, Requester: Requester, Responder: Provider, Sequence: c.seq,
			Count: uint32(len(ids)), KeyID: c.OPRFKey.Public().KeyID(),
		},
		Request:  transcript.Request{Elements: split(blinded)},
		Response: transcript.Response{Evaluated: split(evaluated), Proof: proof},
	}
	c.Sign(t, tr)
	return tr
}

// Answer returns a copy of tr with a fresh answer from the provider to the
// same request, as b says, signed by the provider: what a provider that
// bills one answer and sends another would hold the requester to.
func (c *Consortium) Answer(t testing.TB, tr *transcript.Transcript, b Behaviour) *transcript.Transcript {
	t.Helper()
	evaluated, proof := c.answer(t, tr.Header.ProofRule, b, bytes.Join(tr.Request.Elements, nil))
	out := *tr
	out.Response = transcript.Response{Evaluated: split(evaluated), Proof: proof}
	d, err := out.Digests()
	must(t, err)
	out.ResponseSignature, err = transcript.SignResponse(c.Provider.Sign, d.ResponseDigest)
	must(t, err)
	return &out
}

// answer evaluates the blinded elements as the provider, as b says, under
// the header's proof rule.
func (c *Consortium) answer(t testing.TB, rule transcript.ProofRule, b Behaviour, blinded []byte) (evaluated, proof []byte) {
	t.Helper()
	key := c.OPRFKey
	if b == WrongKey {
		var err error
		key, err = oprf.GenerateKey(rand.Reader)
		must(t, err)
	}
	proofRule := rule
	if b == OtherRule {
		proofRule = map[transcript.ProofRule]oprf.ProofRule{
			transcript.ProofBinding128: oprf.ProofBinding,
			transcript.ProofBinding:    oprf.ProofRFC9497,
			transcript.ProofRFC9497:    oprf.ProofBinding,
		}[rule]
	}
	ev, err := oprf.NewEvaluatorWithRule(key, catalogpsi.Info(Category, c.Period), proofRule)
	must(t, err)
	evaluated, p, err := ev.BlindEvaluate(rand.Reader, blinded)
	must(t, err)
	if b == CorruptElement {
		// The requester's own blinded element is a valid group element
		// that is not the evaluation.
		copy(evaluated[:oprf.ElementSize], blinded[:oprf.ElementSize])
	}
	return evaluated, p[:]
}

// Sign (re)signs both digests of tr with the requester's and the
// provider's keys, as the parties of an exchange do.
func (c *Consortium) Sign(t testing.TB, tr *transcript.Transcript) {
	t.Helper()
	d, err := tr.Digests()
	must(t, err)
	tr.RequestSignature, err = transcript.SignRequest(c.Requester.Sign, d.RequestDigest)
	must(t, err)
	tr.ResponseSignature, err = transcript.SignResponse(c.Provider.Sign, d.ResponseDigest)
	must(t, err)
}

// Entry is the ledger entry the provider submits for tr.
func Entry(t testing.TB, tr *transcript.Transcript) accounting.Entry {
	t.Helper()
	d, err := tr.Digests()
	must(t, err)
	hdr, err := tr.Header.MarshalBinary()
	must(t, err)
	price := int64(Price)
	if tr.Header.Protocol == transcript.ProtocolLiveHE {
		price = LivePrice
	}
	return accounting.Entry{
		Header: hdr, RequestHash: d.RequestHash[:], ResponseHash: d.ResponseHash[:],
		RequesterSignature: tr.RequestSignature, ResponderSignature: tr.ResponseSignature,
		Amount: int64(tr.Header.Count) * price,
	}
}

// Record records tr on the ledger as the provider and checks it was.
func (c *Consortium) Record(t testing.TB, tr *transcript.Transcript) accounting.EntryKey {
	t.Helper()
	out, err := c.Provider.Ledger.Record(Context(t), []accounting.Entry{Entry(t, tr)})
	must(t, err)
	if len(out) != 1 || out[0].Status != accounting.OutcomeRecorded {
		t.Fatalf("record: outcomes %+v, want one recorded", out)
	}
	return out[0].Key
}

// Settle closes the period (rolling over to the next), settles and returns
// the net change of each institution.
func (c *Consortium) Settle(t testing.TB) map[string]int64 {
	t.Helper()
	ctx := Context(t)
	reg := c.Regulator.Ledger
	_, err := reg.Rollover(ctx)
	must(t, err)
	must(t, reg.ClosePeriod(ctx, c.Period))
	for range 1000 {
		res, err := reg.Settle(ctx, c.Period, 0)
		must(t, err)
		if res.Done {
			p, err := reg.Period(ctx, c.Period)
			must(t, err)
			return p.Net
		}
	}
	t.Fatal("settlement did not finish in 1000 steps")
	return nil
}

// Identifiers are canonical identifiers a requester might ask about; tests
// search stored bytes for them.
var Identifiers = []string{"phone:+8613800138000", "idcard:11010519491231002X", "email:alice@example.com"}

// Contains reports whether data holds any of the identifiers (or their
// value parts) in the clear.
func Contains(data []byte, ids []string) bool {
	for _, id := range ids {
		if bytes.Contains(data, []byte(id)) {
			return true
		}
		if i := bytes.IndexByte([]byte(id), ':'); i >= 0 && bytes.Contains(data, []byte(id[i+1:])) {
			return true
		}
	}
	return false
}

func split(flat []byte) [][]byte {
	out := make([][]byte, 0, len(flat)/oprf.ElementSize)
	for len(flat) > 0 {
		out = append(out, flat[:oprf.ElementSize:oprf.ElementSize])
		flat = flat[oprf.ElementSize:]
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
