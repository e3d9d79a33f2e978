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
	got, claim, err := freePortBlock(base)
	if err != nil {
		t.Fatal(err)
	}
	defer claim.Close()
	if got == base {
		t.Fatal("freePortBlock returned the busy block")
	}
}

// Two networks brought up at once both find the default block's ports
// free: the first one's claim, held while it starts, sends the second to
// another block, and an explicit base port under a claim is refused. A
// claim released (Up returned, or its process died) frees the block.
func TestConcurrentBringUpsPickDistinctBlocks(t *testing.T) {
	var first, second Config
	claim1, err := first.choosePorts()
	if err != nil {
		t.Fatal(err)
	}
	claim2, err := second.choosePorts()
	if err != nil {
		t.Fatal(err)
	}
	defer claim2.Close()
	if first.BasePort == second.BasePort {
		t.Fatalf("both networks picked base port %d", first.BasePort)
	}
	pinned := Config{BasePort: first.BasePort}
	if _, err := pinned.choosePorts(); !errors.Is(err, ErrPortInUse) {
		t.Fatalf("base port %d claimed by another bring-up: %v, want ErrPortInUse", first.BasePort, err)
	}
	if err := claim1.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := claimBlock(first.BasePort)
	if err != nil {
		t.Fatalf("block %d after its claim was released: %v", first.BasePort, err)
	}
	again.Close()
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
