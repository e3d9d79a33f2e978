package fabric

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// metadataFunction is the system function every fabric-contract-api
// chaincode answers: a read-only call that does not depend on the contract.
const metadataFunction = "org.hyperledger.fabric:GetMetadata"

// endorseAttemptTimeout bounds one readiness endorsement.
const endorseAttemptTimeout = 5 * time.Second

// gatewayReady reports whether org's gateway can collect endorsements that
// satisfy the chaincode's endorsement policy. A committed chaincode is not
// enough: until gossip has spread membership and installed-chaincode state
// between the organisations, a gateway finds no peer combination for
// MAJORITY and rejects every submission. The endorsed transaction is never
// submitted, so the check changes nothing; it also makes every endorsing
// peer connect to the chaincode server.
func gatewayReady(org Org) (func(context.Context) (bool, error), func(), error) {
	read := func(path string) ([]byte, error) { return os.ReadFile(path) }
	certPEM, err := read(org.UserCert)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := read(org.UserKey)
	if err != nil {
		return nil, nil, err
	}
	caPEM, err := read(org.PeerTLSCACert)
	if err != nil {
		return nil, nil, err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, err
	}
	id, err := identity.NewX509Identity(org.MSPID, cert)
	if err != nil {
		return nil, nil, err
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, nil, err
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, nil, fmt.Errorf("%w: no certificate in %s", ErrConfig, org.PeerTLSCACert)
	}
	conn, err := grpc.NewClient(org.PeerAddress, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(roots, "")))
	if err != nil {
		return nil, nil, err
	}
	gw, err := client.Connect(id, client.WithSign(sign), client.WithClientConnection(conn))
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	contract := gw.GetNetwork(ChannelName).GetContract(ChaincodeName)
	check := func(ctx context.Context) (bool, error) {
		proposal, err := contract.NewProposal(metadataFunction)
		if err != nil {
			return false, err
		}
		ctx, cancel := context.WithTimeout(ctx, endorseAttemptTimeout)
		defer cancel()
		if _, err := proposal.EndorseWithContext(ctx); err != nil {
			return false, err
		}
		return true, nil
	}
	closeFn := func() {
		gw.Close()
		conn.Close()
	}
	return check, closeFn, nil
}
