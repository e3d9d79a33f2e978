package recon

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

const (
	bankA = "BankA" // requester
	bankB = "BankB" // responder
	bankC = "BankC" // a member no grant names
)

// memList is a list source held in memory.
type memList []catalogpsi.Entry

func (m memList) Entries(_ context.Context, code uint8) iter.Seq2[catalogpsi.Entry, error] {
	return func(yield func(catalogpsi.Entry, error) bool) {
		for _, e := range m {
			if e.Label.Category == code && !yield(e, nil) {
				return
			}
		}
	}
}

// phones returns entries phone:+41000<i> for i in [lo, hi), labelled with
// reason i so that a result line can be traced to its row.
func phones(lo, hi int) memList {
	var m memList
	for i := lo; i < hi; i++ {
		m = append(m, catalogpsi.Entry{ID: ident.ID{Type: ident.Phone, Value: fmt.Sprintf("+41%09d", i)},
			Label: catalog.Label{Category: 1, Reason: uint16(i)}})
	}
	return m
}

// member is one institution: its signing key and TLS certificate.
type member struct {
	msp  string
	sign ecsig.Sign
	pub  []byte
}

func newMember(t testing.TB, msp string) *member {
	t.Helper()
	key, pub, err := ecsig.GenerateKey(nil)
	must(t, err)
	return &member{msp: msp, sign: ecsig.NewSigner(key, nil), pub: pub}
}

// consortium maps MSP ids to signing keys, as the ledger view does.
type consortium map[string]*member

func (c consortium) keys(_ context.Context, msp string, _ uint64) ([][]byte, error) {
	m, ok := c[msp]
	if !ok {
		return nil, errors.New("unknown institution")
	}
	return [][]byte{m.pub}, nil
}

// pair is a responder node serving over real QUIC and a requester node
// connected to it.
type pair struct {
	req, resp   *Node
	conn        *peer.Client
	reqDir      string
	respDir     string
	members     consortium
	requesterID *member
	addr        string      // the responder's address
	dial        peer.Config // the requester's dial configuration
	// reqDB and respDB are the two nodes' node.db; reqCfg and respCfg
	// their configurations, to start them again over the same files.
	reqDB, respDB   *bolt.DB
	reqCfg, respCfg Config
	// serving is the responder node the server calls: resp, and after
	// restartResponder the node started again.
	serving atomic.Pointer[Node]
}

// restartResponder starts the responder node again over its node.db
// (restart) and has the server call the new node.
func (p *pair) restartResponder(t *testing.T) {
	t.Helper()
	restart(t, &p.resp, &p.respDB, &p.respCfg)
	p.serving.Store(p.resp)
}

// restart starts node *n again from cfg over its node.db reopened, as a
// node does after a crash: nothing of the old node's memory is kept.
func restart(t *testing.T, n **Node, db **bolt.DB, cfg *Config) {
	t.Helper()
	path := (*db).Path()
	must(t, (*db).Close())
	*db = openDB(t, path)
	cfg.DB = *db
	var err error
	*n, err = New(*cfg)
	must(t, err)
}

// openDB opens a node.db at path, closed when the test ends.
func openDB(t testing.TB, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	must(t, err)
	t.Cleanup(func() { _ = db.Close() }) // a second Close does nothing
	return db
}

type pairOptions struct {
	requester string  // MSP id the requester connects as; default bankA
	reqList   memList // the requester's list
	respList  memList // the responder's list
	grants    []Grant // the responder's policy
	chunk     int     // requester chunk size
	wrap      func(h peer.Handler) peer.Handler
	tune      func(*Config) // adjusts the responder's configuration
}

func newPair(t testing.TB, o pairOptions) *pair {
	t.Helper()
	if o.requester == "" {
		o.requester = bankA
	}
	members := consortium{}
	for _, msp := range []string{bankA, bankB, bankC} {
		members[msp] = newMember(t, msp)
	}
	p := &pair{members: members, reqDir: t.TempDir(), respDir: t.TempDir(), requesterID: members[o.requester]}
	var err error
	p.reqDB, p.respDB = openDB(t, filepath.Join(t.TempDir(), "node.db")), openDB(t, filepath.Join(t.TempDir(), "node.db"))
	respCfg := Config{MSPID: bankB, Sign: members[bankB].sign, Keys: members.keys, Dir: p.respDir, DB: p.respDB,
		Lists: []List{{Name: "loans", Category: "loans", Code: 1, Source: o.respList}}, Grants: o.grants}
	if o.tune != nil {
		o.tune(&respCfg)
	}
	p.resp, err = New(respCfg)
	must(t, err)
	p.reqCfg = Config{MSPID: o.requester, Sign: members[o.requester].sign, Keys: members.keys, Dir: p.reqDir, DB: p.reqDB,
		Lists: []List{{Name: "mine", Category: "loans", Code: 1, Source: o.reqList}}, ChunkSize: o.chunk}
	p.respCfg = respCfg
	p.req, err = New(p.reqCfg)
	must(t, err)

	certs := map[[32]byte]string{}
	tlsOf := map[string]*peer.Config{}
	for _, msp := range []string{o.requester, bankB} {
		cert, err := selfsigned.New(msp, nil, nil, time.Now())
		must(t, err)
		certs[peer.FingerprintOf(cert.Certificate[0])] = msp
		tlsOf[msp] = &peer.Config{Certificate: cert}
	}
	auth := peer.AuthorizerFunc(func(fp [32]byte) (string, error) {
		if msp, ok := certs[fp]; ok {
			return msp, nil
		}
		return "", errors.New("unknown certificate")
	})
	p.serving.Store(p.resp)
	var h peer.Handler = func(ctx context.Context, who peer.Identity, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
		return p.serving.Load().Handle(ctx, who, req)
	}
	if o.wrap != nil {
		h = o.wrap(h)
	}
	srvCfg := *tlsOf[bankB]
	srvCfg.Authorizer, srvCfg.Handler = auth, h
	srv, err := peer.Listen(t.Context(), "127.0.0.1:0", srvCfg)
	must(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	cliCfg := *tlsOf[o.requester]
	cliCfg.Authorizer = auth
	p.addr, p.dial = srv.Addr().String(), cliCfg
	p.conn, err = peer.Dial(t.Context(), p.addr, cliCfg)
	must(t, err)
	t.Cleanup(func() { _ = p.conn.Close() })
	return p
}

func (p *pair) reconcile(t *testing.T, proto transcript.Protocol, seq uint64) (*Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	return p.req.Reconcile(ctx, p.conn.Do, request(proto, seq))
}

// readResult returns the identifiers of a result file, sorted.
func readResult(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l resultLine
		must(t, json.Unmarshal(sc.Bytes(), &l))
		ids = append(ids, l.ID)
	}
	must(t, sc.Err())
	slices.Sort(ids)
	return ids
}

// ids returns the identifiers of m, sorted.
func ids(m memList) []string {
	var out []string
	for _, e := range m {
		out = append(out, e.ID.String())
	}
	slices.Sort(out)
	return out
}

func request(proto transcript.Protocol, seq uint64) Request {
	return Request{Responder: bankB, List: "mine", PeerList: "loans", Protocol: proto, Period: 7, Sequence: seq}
}

func grantAll(requester string) []Grant {
	return []Grant{{Requester: requester, List: "loans",
		Protocols: []transcript.Protocol{transcript.ProtocolECDHRequesterLearns, transcript.ProtocolECDHBothLearn}}}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
