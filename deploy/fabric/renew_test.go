package fabric

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReissue(t *testing.T) {
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	ca := makeCA(t, caDir, "ca.bank1")
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	ca.issue(t, "peer0.bank1", "peer", certFile, keyFile)
	old, err := readCert(certFile)
	if err != nil {
		t.Fatal(err)
	}
	oldKey, err := readKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}

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
	roots.AddCert(ca.cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost", CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("the new certificate does not verify under the CA: %v", err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) || key.Equal(oldKey) {
		t.Fatal("the key file does not hold a new key for the new certificate")
	}
	if cert.SerialNumber.Cmp(old.SerialNumber) == 0 || cert.Subject.String() != old.Subject.String() ||
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

// A certificate re-issued under a CA younger than renewBackdate starts no
// earlier than the CA, so it verifies at its own start, the time Fabric's
// MSP checks the chain at (CI once failed on a peer refusing its renewed
// identity twelve seconds after the network began).
func TestReissueUnderAYoungCA(t *testing.T) {
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	ca := makeCA(t, caDir, "ca.bank1")
	certFile, keyFile := filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	ca.issue(t, "peer0.bank1", "peer", certFile, keyFile)
	now := ca.cert.NotBefore.Add(time.Minute)
	if err := reissue(caDir, certFile, keyFile, now); err != nil {
		t.Fatal(err)
	}
	cert, err := readCert(certFile)
	if err != nil {
		t.Fatal(err)
	}
	if cert.NotBefore.Before(ca.cert.NotBefore) {
		t.Fatalf("certificate starts %s, before its CA (%s)", cert.NotBefore, ca.cert.NotBefore)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: cert.NotBefore.Add(time.Second),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("the certificate does not verify at its own start, as Fabric's MSP checks it: %v", err)
	}
}
