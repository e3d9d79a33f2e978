package chaincode

import (
	"strings"

	"github.com/riskmesh/riskmesh/internal/saturate"
)

// Exposure: what each institution owes as a requester, settled or not, so
// that providers can refuse one past its limit during a period, not only
// after settlement. Records add to per-(period, requester, responder) spent
// keys and reversals to per-(period, requester) refund keys (keys.go); the
// query sums them over the periods not settled yet.

// unsettledPeriods returns the periods whose entries are not in the
// balances yet, newest first: from the current one back to the first
// settled or snapshotted one, before which every period is settled too
// (period n settles only after n-1 is settled).
func unsettledPeriods(st State) ([]uint64, error) {
	cur, err := currentPeriod(st)
	if err != nil {
		return nil, err
	}
	var out []uint64
	for n := cur; n > 0; n-- {
		p, err := loadPeriod(st, n)
		if err != nil {
			return nil, err
		}
		if p.State == PeriodSettled || p.State == PeriodSnapshotted {
			break
		}
		out = append(out, n)
	}
	return out, nil
}

// unsettledSpend returns, per requester, what it was billed in the
// unsettled periods minus what was reversed there.
func unsettledSpend(st State) (map[string]int64, error) {
	periods, err := unsettledPeriods(st)
	if err != nil {
		return nil, err
	}
	spend := map[string]int64{}
	for _, n := range periods {
		for _, r := range []struct {
			prefix string
			sign   int64
		}{{prefixSpent + num(n) + "/", 1}, {prefixRefund + num(n) + "/", -1}} {
			err := scan(st, r.prefix, rangeEnd(r.prefix), func(k string, v []byte) (bool, error) {
				requester, _, _ := strings.Cut(k[len(r.prefix):], "/")
				var amount int64
				if err := decodeStored(k, v, &amount); err != nil {
					return false, err
				}
				spend[requester] = saturate.Add(spend[requester], r.sign*amount)
				return true, nil
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return spend, nil
}

// addRefund adds a reversed amount to the requester's refund key of the
// entry's period; only the requester's own Reverses write it.
func addRefund(st State, period uint64, requester string, amount int64) error {
	key := refundKey(period, requester)
	total, err := loadInt64(st, key)
	if err != nil {
		return err
	}
	if total, err = addTokens(total, amount); err != nil {
		return err
	}
	return putJSON(st, key, total)
}

// listExposures returns every registered institution's exposure. It reads
// the registry keys, each balance, limit and debt, the unsettled periods'
// records and their spent and refund keys: bounded by the institutions
// (squared, for the spent keys) times the unsettled periods, never by the
// entries.
func (c *Contract) listExposures(st State, arg []byte) (any, error) {
	if err := decodeArg(arg, &struct{}{}); err != nil {
		return nil, err
	}
	msps, err := institutionIDs(st)
	if err != nil {
		return nil, err
	}
	spend, err := unsettledSpend(st)
	if err != nil {
		return nil, err
	}
	out := make([]Exposure, 0, len(msps))
	for _, m := range msps {
		a, err := account(st, m)
		if err != nil {
			return nil, err
		}
		out = append(out, Exposure{
			MSPID: m, Balance: a.Balance, Limit: a.Limit, Unsettled: spend[m],
			Headroom: saturate.Sub(saturate.Add(a.Balance, a.Limit), spend[m]),
			Flagged:  a.Flagged,
		})
	}
	return out, nil
}

// institutionIDs returns the registered MSP ids in key order.
func institutionIDs(st State) ([]string, error) {
	var msps []string
	err := scan(st, prefixInst, rangeEnd(prefixInst), func(k string, _ []byte) (bool, error) {
		msps = append(msps, k[len(prefixInst):])
		return true, nil
	})
	return msps, err
}
