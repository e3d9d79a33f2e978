package fabric_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ob "github.com/hyperledger/fabric-protos-go-apiv2/orderer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/riskmesh/riskmesh/accounting"
	acfabric "github.com/riskmesh/riskmesh/accounting/fabric"
	"github.com/riskmesh/riskmesh/deploy/fabric"
)

// operationsTimeout bounds TestConsortiumOperations; operationsPause paces
// its workload, which runs through several minutes of operations.
const (
	operationsTimeout = 6 * time.Minute
	operationsPause   = time.Second
)

// unauthorizedCluster is how an orderer's cluster service refuses a client
// certificate whose public key no consenter of the channel holds (Fabric's
// orderer/common/cluster).
const unauthorizedCluster = "isn't authorized"

// TestConsortiumOperations runs the operations of docs/operations.md that
// follow a join, on one network of three organisations, each running a
// Raft orderer, while a record and query workload runs: a join that fails
// after the channel admitted the newcomer is rolled back, every orderer's
// TLS certificate is renewed in turn, after which the other orderers
// refuse the old one, a follower and then the leader leave the consenter
// set and come back with empty ledgers, and an organisation rotates its
// CA, after which the channel refuses the certificates of the old one.
// Minorities, and other members' admins, are refused along the way. Every
// entry the workload sent is then on the ledger exactly once.
func TestConsortiumOperations(t *testing.T) {
	requireGate(t)
	ctx, cancel := context.WithTimeout(context.Background(), operationsTimeout)
	defer cancel()
	n := upFounders(ctx, t)
	step := stepper(t)
	reg := connect(t, n, fabric.RegulatorMSPID, fabric.RegulatorMSPID)
	w, errs, stopWorkload := startWorkload(ctx, t, n, reg, operationsPause)
	defer stopWorkload()
	step("3 organisations up, 2 banks onboarded")
	waitBatches(t, w, 3, errs)

	t.Run("a failed join is rolled back", func(t *testing.T) {
		before, err := n.ChannelOrgs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Bank3MSP's peer cannot bind its port (the next peer slot,
		// docs/fabric-network.md "Ports"), so it never comes up.
		info := n.Info()
		port := info.BasePort + 30 + 10*len(info.Orgs)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		_, err = n.AddOrg(ctx, bank3, []string{"RegulatorMSP", "Bank1MSP"})
		l.Close()
		if !errors.Is(err, fabric.ErrJoinIncomplete) {
			t.Fatalf("AddOrg with its peer's port taken: %v, want ErrJoinIncomplete", err)
		}
		during, err := n.ChannelOrgs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(during, bank3.MSPID) || len(n.Info().Joining) != 1 {
			t.Fatalf("after the failed join the channel lists %v, joining %v: want Bank3MSP half joined", during, n.Info().Joining)
		}
		step("Bank3MSP's join failed after the configuration update")

		// The channel now counts four organisations: 2 admins are a minority.
		err = n.RemoveOrg(ctx, bank3.MSPID, []string{"RegulatorMSP", "Bank1MSP"})
		if err == nil || !strings.Contains(err.Error(), "policy") {
			t.Fatalf("rollback signed by 2 of 4 admins: %v, want a policy failure", err)
		}
		if err := n.RemoveOrg(ctx, bank3.MSPID, []string{"RegulatorMSP", "Bank1MSP", "Bank2MSP"}); err != nil {
			t.Fatal(err)
		}
		after, err := n.ChannelOrgs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(after, before) || len(n.Info().Joining) != 0 {
			t.Fatalf("after the rollback the channel lists %v (joining %v), before %v", after, n.Info().Joining, before)
		}
		step("Bank3MSP rolled back")
		// As before: 2 of 3 admins are a majority again, and Bank3MSP
		// joins afresh.
		if _, err := n.AddOrg(ctx, bank3, []string{"RegulatorMSP", "Bank1MSP"}); err != nil {
			t.Fatalf("AddOrg after the rollback: %v", err)
		}
		step("Bank3MSP joined afresh")
	})
	waitBatches(t, w, 3, errs)

	t.Run("adversary: one ordering admin cannot replace an orderer's certificate", func(t *testing.T) {
		o := n.Info().Orderers[1]
		before := servedOrdererCert(t, o)
		err := n.RenewOrdererTLS(ctx, o.Org, []string{"Bank1MSP"})
		if err == nil || !strings.Contains(err.Error(), "policy") {
			t.Fatalf("RenewOrdererTLS signed by 1 of 3 ordering admins: %v, want a policy failure", err)
		}
		if after := servedOrdererCert(t, o); !after.Equal(before) {
			t.Fatal("the orderer serves another certificate after a refused renewal")
		}
		if err := clusterStep(ctx, n.Info().Orderers[0], o.TLSCert, o.TLSKey); err == nil || strings.Contains(err.Error(), unauthorizedCluster) {
			t.Fatalf("cluster step with the kept certificate: %v, want it admitted", err)
		}
	})

	t.Run("renew every orderer's TLS certificate", func(t *testing.T) {
		orderers := n.Info().Orderers
		for i, o := range orderers {
			peer := orderers[(i+1)%len(orderers)]
			oldCert, oldKey := keep(t, o.TLSCert), keep(t, o.TLSKey)
			before := servedOrdererCert(t, o)
			// The admins of the two other ordering organisations sign.
			var signers []string
			for _, other := range orderers {
				if other.Org != o.Org {
					signers = append(signers, mspOf(t, n, other.Org))
				}
			}
			if err := n.RenewOrdererTLS(ctx, o.Org, signers); err != nil {
				t.Fatal(err)
			}
			step("orderer of " + o.Org + " renewed")
			waitBatches(t, w, 2, errs)
			after := servedOrdererCert(t, o)
			if after.SerialNumber.Cmp(before.SerialNumber) == 0 || after.Subject.String() != before.Subject.String() {
				t.Fatalf("orderer of %s serves serial %s (%s), before %s (%s): want a new certificate for the same orderer",
					o.Org, after.SerialNumber, after.Subject, before.SerialNumber, before.Subject)
			}
			err := clusterStep(ctx, peer, oldCert, oldKey)
			if err == nil || !strings.Contains(err.Error(), unauthorizedCluster) {
				t.Errorf("orderer of %s admits the renewed orderer's old certificate: %v", peer.Org, err)
			}
			err = clusterStep(ctx, peer, o.TLSCert, o.TLSKey)
			if err == nil || strings.Contains(err.Error(), unauthorizedCluster) {
				t.Errorf("orderer of %s refuses the renewed orderer's new certificate: %v", peer.Org, err)
			}
		}
	})
	waitBatches(t, w, 3, errs)

	t.Run("remove and add back a follower, then the leader", func(t *testing.T) {
		all, err := n.Consenters(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, which := range []string{"follower", "leader"} {
			leader, err := n.RaftLeader(ctx)
			if err != nil {
				t.Fatal(err)
			}
			org := leader
			if which == "follower" {
				i := slices.IndexFunc(n.Info().Orderers, func(o fabric.Orderer) bool { return o.Org != leader })
				org = n.Info().Orderers[i].Org
			}
			removed := slices.IndexFunc(n.Info().Orderers, func(o fabric.Orderer) bool { return o.Org == org })
			address := n.Info().Orderers[removed].Address
			// The two other ordering organisations, a majority of the
			// three, change the consenter set; org changes only its own
			// endpoint.
			var signers []string
			for _, o := range n.Info().Orderers {
				if o.Org != org {
					signers = append(signers, mspOf(t, n, o.Org))
				}
			}
			if which == "follower" {
				err := n.RemoveOrderer(ctx, org, signers[:1])
				if err == nil || !strings.Contains(err.Error(), "policy") {
					t.Fatalf("RemoveOrderer signed by 1 of 3 ordering admins: %v, want a policy failure", err)
				}
			}
			if err := n.RemoveOrderer(ctx, org, signers); err != nil {
				t.Fatal(err)
			}
			step(fmt.Sprintf("orderer of %s (the %s) removed", org, which))
			got, err := n.Consenters(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(all)-1 || slices.Contains(got, address) {
				t.Fatalf("consenters after removing %s: %v, before %v", address, got, all)
			}
			if now, err := n.RaftLeader(ctx); err != nil || now == org {
				t.Fatalf("raft leader after removing the orderer of %s: %q (%v)", org, now, err)
			}
			waitBatches(t, w, 2, errs)
			step("workload continued on 2 orderers")

			if err := n.AddOrderer(ctx, org, signers); err != nil {
				t.Fatal(err)
			}
			step(fmt.Sprintf("orderer of %s added back with an empty ledger, caught up", org))
			if got, err := n.Consenters(ctx); err != nil || !slices.Equal(got, all) {
				t.Fatalf("consenters after adding %s back: %v (%v), want %v", address, got, err, all)
			}
			waitBatches(t, w, 2, errs)
		}
	})
	waitBatches(t, w, 2, errs)

	t.Run("rotate an organisation's CA", func(t *testing.T) {
		roles := []accounting.Role{accounting.RoleRequester}
		if err := reg.AddInstitution(ctx, bank3.MSPID, bank3.MSPID, roles); err != nil {
			t.Fatal(err)
		}
		org, err := n.Org(bank3.MSPID)
		if err != nil {
			t.Fatal(err)
		}
		// old holds Bank3MSP's client certificate of the first CA.
		old := connect(t, n, bank3.MSPID, fabric.RegulatorMSPID)
		read := func(c *acfabric.Client) error {
			_, err := c.Institution(ctx, bank3.MSPID)
			return err
		}
		if err := read(old); err != nil {
			t.Fatalf("Bank3MSP reads before the rotation: %v", err)
		}
		before := servedCert(t, org)

		// A CA in Bank3MSP's MSP issues identities in Bank3MSP's name:
		// only Bank3MSP's own admin may add one, not even a majority of
		// the others.
		err = n.AddRootAs(ctx, bank3.MSPID, []string{"RegulatorMSP", "Bank1MSP", "Bank2MSP"}, selfSignedCA(t))
		if err == nil || !strings.Contains(err.Error(), "policy") {
			t.Fatalf("the other members' admins add a CA to Bank3MSP: %v, want a policy failure", err)
		}

		if err := n.RotateCA(ctx, bank3.MSPID); err != nil {
			t.Fatal(err)
		}
		step("Bank3MSP's new CAs trusted beside the old, its certificates re-issued")
		if err := read(old); err != nil {
			t.Fatalf("a certificate of the old CA is refused while both are trusted: %v", err)
		}
		fresh := connect(t, n, bank3.MSPID, bank3.MSPID)
		if err := read(fresh); err != nil {
			t.Fatalf("a certificate of the new CA, through Bank3MSP's restarted peer: %v", err)
		}
		after := servedCert(t, org)
		if after.Issuer.String() == before.Issuer.String() || after.Subject.String() != before.Subject.String() {
			t.Fatalf("Bank3MSP's peer serves %s issued by %s, before by %s: want the same peer under a new TLS CA",
				after.Subject, after.Issuer, before.Issuer)
		}

		if err := n.RetireCA(ctx, bank3.MSPID); err != nil {
			t.Fatal(err)
		}
		step("Bank3MSP's old CAs retired")
		if err := read(old); err == nil {
			t.Fatal("a certificate of the retired CA is still accepted")
		}
		if err := read(connect(t, n, bank3.MSPID, fabric.RegulatorMSPID)); err != nil {
			t.Fatalf("a certificate of the new CA after the retirement: %v", err)
		}
		if err := read(fresh); err != nil {
			t.Fatalf("a certificate of the new CA, through Bank3MSP's peer, after the retirement: %v", err)
		}
	})
	waitBatches(t, w, 3, errs)
	stopWorkload()
	checkExactlyOnce(ctx, t, reg, w, errs)
	step("done")
}

// mspOf returns the MSP id of the member called name.
func mspOf(t *testing.T, n *fabric.Network, name string) string {
	t.Helper()
	for _, o := range n.Info().Orgs {
		if o.Name == name {
			return o.MSPID
		}
	}
	t.Fatalf("no member called %s", name)
	return ""
}

// selfSignedCA returns the PEM of a new self-signed CA certificate.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca.bank3.riskmesh.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// keep copies file into the test's temporary folder and returns the copy.
func keep(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(file))
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// servedOrdererCert returns the TLS certificate orderer o serves, verified
// against its organisation's TLS CA.
func servedOrdererCert(t *testing.T, o fabric.Orderer) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", o.Address, &tls.Config{RootCAs: pool(t, o.TLSCACert), ServerName: "127.0.0.1", NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

func pool(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		t.Fatalf("no certificate in %s", caFile)
	}
	return roots
}

// clusterStep plays an orderer of the channel: it opens the Raft cluster
// stream of orderer to with the TLS pair in certFile and keyFile and sends
// one consensus message whose payload is not a Raft message. An orderer
// that does not know the client certificate answers unauthorizedCluster;
// one that admits it fails to decode the payload and drops it, so the
// probe never disturbs the cluster.
func clusterStep(ctx context.Context, to fabric.Orderer, certFile, keyFile string) error {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(to.TLSCACert)
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca)
	creds := credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: roots, ServerName: "127.0.0.1"})
	conn, err := grpc.NewClient(to.Address, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	stream, err := ob.NewClusterClient(conn).Step(ctx)
	if err != nil {
		return err
	}
	err = stream.Send(&ob.StepRequest{Payload: &ob.StepRequest_ConsensusRequest{
		ConsensusRequest: &ob.ConsensusRequest{Channel: fabric.ChannelName, Payload: []byte{0xff}},
	}})
	if err != nil {
		return err
	}
	_, err = stream.Recv()
	return err
}
