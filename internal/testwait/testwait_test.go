package testwait

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestUntilReturnsOnceTheCheckHolds(t *testing.T) {
	calls := 0
	Until(t, "third call", time.Minute, func() error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if calls != 3 {
		t.Fatalf("%d calls, want 3", calls)
	}
}

func TestUntilFailsAfterItsBound(t *testing.T) {
	ft := &fakeT{}
	Until(ft, "never", 0, func() error { return errors.New("still not") })
	if ft.msg != "never: still not" {
		t.Fatalf("failure %q", ft.msg)
	}
}

// fakeT records Fatalf; testing.TB cannot be implemented outside the
// testing package except by embedding it.
type fakeT struct {
	testing.TB
	msg string
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
}
