package bench

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// reconNodes runs whole reconciliations (node/recon, "both learn", with
// proofs) between two recon.Nodes over the peer transport on loopback:
// the provider's list against the batch as the requester's list. Every
// chunk is signed and recorded, both transcripts and result files are
// written and each step's state is saved in a node.db, as a node does.
// Both nodes run in this process, so CPU is both sides'.
type reconNodes struct {
	dir       string
	dbs       []*bolt.DB
	srv       *peer.Server
	cli       *peer.Client
	requester *recon.Node
	batch     *memSource
}

// memSource is a list held in memory; the requester's is replaced by each
// batch.
type memSource struct {
	mu      sync.Mutex
	entries []catalogpsi.Entry
}

func (m *memSource) set(es []catalogpsi.Entry) {
	m.mu.Lock()
	m.entries = es
	m.mu.Unlock()
}

func (m *memSource) Entries(context.Context, uint8) iter.Seq2[catalogpsi.Entry, error] {
	m.mu.Lock()
	es := m.entries
	m.mu.Unlock()
	return func(yield func(catalogpsi.Entry, error) bool) {
		for _, e := range es {
			if !yield(e, nil) {
				return
			}
		}
	}
}

const reconList = "bench"

func newReconNodes(ctx context.Context, w *workload, tmp string) (s *reconNodes, err error) {
	if len(w.lists) != 1 {
		return nil, fmt.Errorf("reconciliation is two-party: %d providers", len(w.lists))
	}
	dir, err := os.MkdirTemp(tmp, "recon-")
	if err != nil {
		return nil, err
	}
	s = &reconNodes{dir: dir, batch: &memSource{}}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close())
		}
	}()
	m := members{}
	provider := providerMSP(0)
	reqCert, err := m.add(requesterMSP)
	if err != nil {
		return nil, err
	}
	respCert, err := m.add(provider)
	if err != nil {
		return nil, err
	}
	keys := map[string][]byte{}
	signers := map[string]ecsig.Sign{}
	for _, msp := range []string{requesterMSP, provider} {
		key, pub, err := ecsig.GenerateKey(nil)
		if err != nil {
			return nil, err
		}
		keys[msp], signers[msp] = pub, ecsig.NewSigner(key, nil)
	}
	lookup := func(_ context.Context, msp string, _ uint64) ([][]byte, error) {
		if k, ok := keys[msp]; ok {
			return [][]byte{k}, nil
		}
		return nil, fmt.Errorf("%s is not a member", msp)
	}
	node := func(msp string, src *memSource, grants []recon.Grant) (*recon.Node, error) {
		db, err := bolt.Open(filepath.Join(dir, msp+".db"), 0o600, nil)
		if err != nil {
			return nil, err
		}
		s.dbs = append(s.dbs, db)
		return recon.New(recon.Config{MSPID: msp, Sign: signers[msp], Keys: lookup, Dir: filepath.Join(dir, msp), DB: db,
			Lists: []recon.List{{Name: reconList, Category: "bench", Code: 1, Source: src}}, Grants: grants, IdleTimeout: slowPhase})
	}
	responder, err := node(provider, &memSource{entries: w.entries(0)}, []recon.Grant{{Requester: requesterMSP, List: reconList,
		Protocols: []transcript.Protocol{transcript.ProtocolECDHBothLearn}}})
	if err != nil {
		return nil, err
	}
	if s.requester, err = node(requesterMSP, s.batch, nil); err != nil {
		return nil, err
	}
	if s.srv, err = peer.Listen(ctx, "127.0.0.1:0", peer.Config{Certificate: respCert, Authorizer: m, Handler: responder.Handle,
		ReadTimeout: slowPhase, HandleTimeout: slowPhase, WriteTimeout: slowPhase, MaxRequestSize: riskmeshv1.MaxReconStepSize}); err != nil {
		return nil, err
	}
	s.cli, err = peer.Dial(ctx, s.srv.Addr().String(), peer.Config{Certificate: reqCert, Authorizer: m})
	return s, err
}

// query reconciles the provider's list with b's valid items; the hits are
// the requester's matched rows.
func (s *reconNodes) query(ctx context.Context, b *synth.Batch, seq uint64) (sample, error) {
	es := make([]catalogpsi.Entry, 0, len(b.Items))
	for i := range b.Items {
		if b.Items[i].Invalid == nil {
			es = append(es, catalogpsi.Entry{ID: b.Items[i].ID, Label: catalog.Label{Category: 1}})
		}
	}
	s.batch.set(es)
	return timed(func() (int, error) {
		res, err := s.requester.Reconcile(ctx, s.cli.Do, recon.Request{Responder: providerMSP(0), List: reconList,
			PeerList: reconList, Protocol: transcript.ProtocolECDHBothLearn, Period: 1, Sequence: seq})
		if err != nil {
			return 0, err
		}
		return res.Matches, nil
	})
}

func (s *reconNodes) close() error {
	var errs []error
	if s.cli != nil {
		errs = append(errs, s.cli.Close())
	}
	if s.srv != nil {
		errs = append(errs, s.srv.Close())
	}
	for _, db := range s.dbs {
		errs = append(errs, db.Close())
	}
	return errors.Join(append(errs, os.RemoveAll(s.dir))...)
}
