package fabric

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// A new network's block of ports is claimed from the moment Up picks it
// until Up returns, when the network's processes hold their ports and
// portsFree sees them. Probing the ports alone cannot keep two bring-ups
// apart, by one program or by two on one machine: both probe the block
// before either has bound it, and both pick it. The claim is an exclusive
// flock on a file named after the base port in the system's temporary
// directory; the kernel drops it when the file is closed or the process
// dies, so a bring-up that crashed leaves no stale claim.

// claimBlock claims the block at base, or fails with ErrPortInUse when
// another bring-up holds it. Closing the result releases the claim.
func claimBlock(base int) (io.Closer, error) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("riskmesh-fabric-ports-%d.lock", base))
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("fabric: claim base port %d: %w", base, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: base port %d is claimed by another network being brought up", ErrPortInUse, base)
		}
		return nil, fmt.Errorf("fabric: claim base port %d: %w", base, err)
	}
	return f, nil
}
