package recon

import (
	"context"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/transcript"
)

// FuzzHandle feeds a responder arbitrary reconciliation requests, one
// after another as a connection would: it must answer each with exactly
// one body, never panic, and never answer a request that does not decode
// or breaks the format with anything but a refusal. A seed opens a real
// reconciliation so that sign and step requests reach a live session.
func FuzzHandle(f *testing.F) {
	members := consortium{bankA: newMember(f, bankA), bankB: newMember(f, bankB)}
	open := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconOpen{ReconOpen: &riskmeshv1.ReconOpen{
		List: "loans", Protocol: uint32(transcript.ProtocolECDHBothLearn), Period: 7, Sequence: 1, RequesterSize: 3, ChunkSize: 2}}}
	sign := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconSign{ReconSign: &riskmeshv1.ReconSign{
		Period: 7, Sequence: 1, RequesterKey: make([]byte, 32), RequesterSignature: []byte{1}}}}
	step := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconStep{ReconStep: &riskmeshv1.ReconStep{
		HeaderDigest: make([]byte, 32), Chunk: []byte{1, 4, 2}}}}
	labels := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_ReconStep{ReconStep: &riskmeshv1.ReconStep{
		HeaderDigest: make([]byte, 32), Labels: []byte{1, 8, 2}}}}
	for _, m := range []proto.Message{open, sign, step, labels} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, b)
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		dir := t.TempDir()
		n, err := New(Config{MSPID: bankB, Sign: members[bankB].sign, Keys: members.keys, Dir: dir, DB: openDB(t, filepath.Join(dir, "node.db")),
			Lists: []List{{Name: "loans", Category: "loans", Code: 1, Source: phones(0, 5)}}, Grants: grantAll(bankA)})
		must(t, err)
		for _, data := range [][]byte{first, second} {
			req := new(riskmeshv1.PeerRequest)
			if proto.Unmarshal(data, req) != nil || !Handles(req) {
				continue
			}
			resp := n.Handle(context.Background(), peer.Identity{MSPID: bankA}, req)
			if resp.GetBody() == nil {
				t.Fatalf("no answer to %v", req)
			}
			if pe := resp.GetError(); pe != nil && pe.GetCode() == riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL {
				t.Fatalf("INTERNAL for %v: %s", req, pe.GetMessage())
			}
			if st := req.GetReconStep(); st != nil && resp.GetError() == nil {
				t.Fatalf("a step answered without a signed header: %v", resp)
			}
		}
	})
}
