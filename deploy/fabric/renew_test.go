package fabric

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writePEM writes one PEM block.
func writePEM(t *testing.T, file, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReissue(t *testing.T) {
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	if err := os.Mkdir(caDir, 0o755); err != nil {
		t.Fatal(err)
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca.bank1"},
		NotBefore: start, NotAfter: start.Add(10 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(caDir, "ca.bank1-cert.pem"), "CERTIFICATE", caDER)
	caKeyDER, err := x509.MarshalPKCS8PrivateKey(caKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(caDir, "priv_sk"), "PRIVATE KEY", caKeyDER)

	oldKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	oldTmpl := &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject:   pkix.Name{CommonName: "peer0.bank1", OrganizationalUnit: []string{"peer"}},
		NotBefore: start, NotAfter: start.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	oldDER, err := x509.CreateCertificate(rand.Reader, oldTmpl, caCert, &oldKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	writePEM(t, certFile, "CERTIFICATE", oldDER)
	oldKeyDER, err := x509.MarshalPKCS8PrivateKey(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "PRIVATE KEY", oldKeyDER)

	now := time.Now()
	if err := reissue(caDir, certFile, keyFile, now); err != nil {
		t.Fatal(err)
	}
	cert, err := readCert(certFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := readKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("the new certificate does not verify under the CA: %v", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) || key.Equal(oldKey) {
		t.Fatal("the key file does not hold a new key for the new certificate")
	}
	if cert.SerialNumber.Cmp(big.NewInt(2)) == 0 || cert.Subject.String() != oldTmpl.Subject.String() ||
		cert.IPAddresses[0].String() != "127.0.0.1" || len(cert.ExtKeyUsage) != 2 {
		t.Fatalf("new certificate %v: want a new serial and the old subject, names and usages", cert.Subject)
	}
	if got := cert.NotAfter.Sub(cert.NotBefore); got != 24*time.Hour {
		t.Fatalf("validity %s, want the old 24h", got)
	}
	if !cert.NotAfter.After(now.Add(23 * time.Hour)) {
		t.Fatalf("new certificate expires %s: not renewed", cert.NotAfter)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v (%v), want 0600", st.Mode(), err)
	}
	if err := reissue(filepath.Join(dir, "nope"), certFile, keyFile, now); err == nil {
		t.Fatal("reissue without a CA succeeded")
	}
}
