package identity

import (
	"crypto/sha256"
	"testing"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// TestLiveFollowsRegisteredRotation: a Live identity switches to the keys
// on disk only once the registry holds them, and then signs and shakes
// hands with them.
func TestLiveFollowsRegisteredRotation(t *testing.T) {
	dir := generate(t, "Bank1MSP")
	id, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	live := NewLive(id)
	if switched, err := live.Follow(Keystore{Dir: dir}, id.SigningKey, id.Fingerprint[:]); err != nil || switched {
		t.Fatalf("Follow with the keys in use = %v, %v", switched, err)
	}
	pub, err := RotateSigningKey(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	der, err := RotateTLSCertificate(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	fp := sha256.Sum256(der)
	// The registry still has the old keys: nothing changes.
	if switched, err := live.Follow(Keystore{Dir: dir}, id.SigningKey, id.Fingerprint[:]); err != nil || switched || live.Load() != id {
		t.Fatalf("Follow before registration = %v, %v", switched, err)
	}
	// The registry has only the new signing key so far: the directory does
	// not match it as a whole, nothing changes.
	if switched, err := live.Follow(Keystore{Dir: dir}, pub, id.Fingerprint[:]); err != nil || switched {
		t.Fatalf("Follow of a half-registered rotation = %v, %v", switched, err)
	}
	if switched, err := live.Follow(Keystore{Dir: dir}, pub, fp[:]); err != nil || !switched {
		t.Fatalf("Follow after registration = %v, %v", switched, err)
	}
	digest := sha256.Sum256([]byte("verdict"))
	sig, err := live.Sign(digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := ecsig.Verify(pub, digest[:], sig); err != nil {
		t.Fatalf("signature after the switch: %v", err)
	}
	if got := sha256.Sum256(live.Certificate().Certificate[0]); got != fp {
		t.Fatal("certificate after the switch is not the rotated one")
	}
}
