package selfsigned

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"net"
	"slices"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cert, err := New("Bank1MSP", []string{"node1.bank1.example", "192.0.2.7"}, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf := cert.Leaf
	t.Run("leaf is the DER", func(t *testing.T) {
		if leaf == nil || !bytes.Equal(leaf.Raw, cert.Certificate[0]) {
			t.Fatal("Leaf does not match Certificate[0]")
		}
	})
	t.Run("self-signed by its key", func(t *testing.T) {
		if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
			t.Fatal(err)
		}
		if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(cert.PrivateKey.(*ecdsa.PrivateKey).Public()) {
			t.Fatal("certificate is not for the returned key")
		}
	})
	t.Run("names", func(t *testing.T) {
		if leaf.Subject.CommonName != "Bank1MSP" || !slices.Equal(leaf.Subject.Organization, []string{"Bank1MSP"}) {
			t.Errorf("subject %v", leaf.Subject)
		}
		if !slices.Equal(leaf.DNSNames, []string{"localhost", "node1.bank1.example"}) {
			t.Errorf("DNS names %v", leaf.DNSNames)
		}
		want := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(192, 0, 2, 7)}
		if !slices.EqualFunc(leaf.IPAddresses, want, net.IP.Equal) {
			t.Errorf("IP addresses %v, want %v", leaf.IPAddresses, want)
		}
	})
	t.Run("validity", func(t *testing.T) {
		if !leaf.NotBefore.Equal(now.Add(-clockSkew)) || !leaf.NotAfter.Equal(now.Add(Validity)) {
			t.Errorf("valid %v to %v", leaf.NotBefore, leaf.NotAfter)
		}
	})
	t.Run("both ends of a connection", func(t *testing.T) {
		if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
			t.Errorf("extended key usage %v", leaf.ExtKeyUsage)
		}
	})
	t.Run("fresh each time", func(t *testing.T) {
		again, err := New("Bank1MSP", nil, nil, now)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(again.Certificate[0], cert.Certificate[0]) || leaf.SerialNumber.Cmp(again.Leaf.SerialNumber) == 0 {
			t.Error("two certificates share DER or serial number")
		}
	})
}

func TestPEM(t *testing.T) {
	cert, err := New("Bank1MSP", nil, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := PEM(cert)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pair.Certificate[0], cert.Certificate[0]) {
		t.Error("PEM certificate differs from the DER")
	}
	if _, _, err := PEM(tls.Certificate{}); err == nil {
		t.Error("PEM of an empty certificate succeeded")
	}
}

func TestNewForRefusesOtherKeys(t *testing.T) {
	_, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewFor(key, "Bank1MSP", nil, nil, time.Now()); err == nil {
		t.Fatal("NewFor made a certificate for an Ed25519 key")
	}
}
