package fabric

import (
	"errors"
	"net"
	"testing"
)

func TestUsedPortsDistinctAndWithinSpan(t *testing.T) {
	const base = 30000
	seen := map[int]bool{}
	for _, p := range usedPorts(base) {
		if seen[p] {
			t.Fatalf("port %d used twice", p)
		}
		seen[p] = true
		if p < base || p >= base+networkPortSpan() {
			t.Fatalf("port %d outside [%d, %d)", p, base, base+networkPortSpan())
		}
	}
	if networkPortSpan() > portBlockSize {
		t.Fatalf("span %d exceeds the block size %d", networkPortSpan(), portBlockSize)
	}
}

func TestPortsFreeDetectsBoundPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	// A network whose peer of the second organisation listens on the port.
	base := port - firstPeerOffset - peerStride
	if err := portsFree(base); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("portsFree = %v, want ErrPortInUse", err)
	}
	got, err := freePortBlock(base)
	if err != nil {
		t.Fatal(err)
	}
	if got == base {
		t.Fatal("freePortBlock returned the busy block")
	}
}

func TestParseOrgs(t *testing.T) {
	got, err := ParseOrgs("regulator:RegulatorMSP, bank4:Bank4MSP")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[1] != (OrgSpec{Name: "bank4", MSPID: "Bank4MSP"}) {
		t.Fatalf("got %+v", got)
	}
	for _, bad := range []string{
		"", "bank4", "bank4:Bank4", "Bank4:Bank4MSP", "bank-4:Bank4MSP", "bank4:Bank4MSP,bank4:Bank5MSP",
		"a:AMSP,b:BMSP,c:CMSP,d:DMSP,e:EMSP,f:FMSP,g:GMSP,h:HMSP",
	} {
		if _, err := ParseOrgs(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("ParseOrgs(%q) = %v, want ErrConfig", bad, err)
		}
	}
}
