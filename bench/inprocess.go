package bench

import (
	"crypto/rand"
	"time"

	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

// timedBuild runs a provider's build step, adding its wall and CPU time
// to the setup cost.
type timedBuild func(build func() error) error

// inProcessParties sets up an in-process system's parties, one per list
// of w with a POPRF key of its own: setup does the protocol's part and
// runs its build step through build, whose time, with the list's entries,
// makes the setup cost. The rest of setup (the requester's side, the
// evaluator) is not counted.
func inProcessParties[P any](w *workload, setup func(msp string, key *oprf.PrivateKey, entries []catalogpsi.Entry, build timedBuild) (P, error)) ([]P, setupCost, error) {
	cost := setupCost{phase: PhaseBuild}
	parties := make([]P, 0, len(w.lists))
	for i := range w.lists {
		key, err := oprf.GenerateKey(rand.Reader)
		if err != nil {
			return nil, cost, err
		}
		entries := w.entries(i)
		build := func(step func() error) error {
			start, cpu := time.Now(), processCPU()
			if err := step(); err != nil {
				return err
			}
			cost.seconds += time.Since(start).Seconds()
			cost.cpu += processCPU() - cpu
			cost.items += len(entries)
			return nil
		}
		p, err := setup(providerMSP(i), key, entries, build)
		if err != nil {
			return nil, cost, err
		}
		parties = append(parties, p)
	}
	return parties, cost, nil
}
