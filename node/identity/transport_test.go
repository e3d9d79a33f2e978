package identity

import (
	"context"
	"errors"
	"testing"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// TestIdentitiesOverPeerTransport checks that generated identities work as
// they are meant to: the regulator's node, admitting members through the
// consortium file, accepts a member's QUIC connection and sees its MSP id,
// and refuses an institution that is not listed.
func TestIdentitiesOverPeerTransport(t *testing.T) {
	load := func(msp string) *Identity {
		id, err := Load(generate(t, msp))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	regulator, member, outsider := load("RegulatorMSP"), load("Bank1MSP"), load("RogueMSP")
	ctx := t.Context()
	consortium, srv, seen := ServePeers(t, regulator, member)
	req := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfoRequest{}}}

	c, err := peer.Dial(ctx, srv.Addr().String(), peer.Config{Certificate: member.Certificate, Authorizer: consortium})
	if err != nil {
		t.Fatalf("member dial: %v", err)
	}
	defer c.Close()
	if c.Peer().MSPID != "RegulatorMSP" {
		t.Errorf("member reached %q", c.Peer().MSPID)
	}
	if _, err := c.Do(ctx, req); err != nil {
		t.Fatalf("member request: %v", err)
	}
	if who := <-seen; who != "Bank1MSP" {
		t.Errorf("regulator saw %q", who)
	}

	// The outsider trusts the regulator but is not in the consortium.
	trustAll := peer.AuthorizerFunc(func([32]byte) (string, error) { return "RegulatorMSP", nil })
	oc, err := peer.Dial(ctx, srv.Addr().String(), peer.Config{Certificate: outsider.Certificate, Authorizer: trustAll})
	if err == nil {
		_, err = oc.Do(ctx, req)
		oc.Close()
	}
	var re *peer.RemoteError
	if !errors.As(err, &re) || re.Code != riskmeshv1.ErrorCode_ERROR_CODE_UNKNOWN_PEER {
		t.Errorf("outsider: %v, want UNKNOWN_PEER", err)
	}
}

// ServePeers starts host's peer server admitting the consortium of host
// and members, as the regulator's node does, and returns the consortium,
// the server and the MSP ids of the requests it serves, in order. The
// server closes when the test ends. (Exported for the package's external
// tests.)
func ServePeers(t *testing.T, host *Identity, members ...*Identity) (*Consortium, *peer.Server, <-chan string) {
	t.Helper()
	var ms []Member
	for _, id := range append([]*Identity{host}, members...) {
		ms = append(ms, Member{MSPID: id.MSPID, Name: id.MSPID, Roles: []accounting.Role{accounting.RoleRequester}, TLSFingerprint: id.Fingerprint, SigningKey: id.SigningKey})
	}
	consortium, err := NewConsortium(ms)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 16)
	srv, err := peer.Listen(t.Context(), "127.0.0.1:0", peer.Config{
		Certificate: host.Certificate,
		Authorizer:  consortium,
		Handler: func(_ context.Context, who peer.Identity, _ *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
			seen <- who.MSPID
			return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfo{}}}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return consortium, srv, seen
}
