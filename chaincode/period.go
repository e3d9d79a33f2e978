package chaincode

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// The period state machine (regulator only):
//
//	Rollover:    current n (open) -> grace; n+1 opens with the current prices
//	             and quality policy, and the price factors it yields
//	ClosePeriod: n (grace) -> closed
//	Settle:      n (closed|settling) -> settling ... -> settled, in steps
//	Snapshot:    from..through (settled) -> snapshotted (snapshot.go)
//
// Periods settle in order: period n settles only after n-1 is settled, so
// the balances hold every settled period, and a snapshot, which covers the
// settled periods that follow the previous snapshot, takes exactly their
// net changes out of them.

func loadPeriod(st State, n uint64) (*Period, error) {
	var p Period
	ok, err := getJSON(st, periodKey(n), &p)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newError(CodeNotFound, fmt.Sprintf("period %d does not exist", n))
	}
	return &p, nil
}

// currentPeriod returns the current period number, 0 before the first
// Rollover. The marker changes once per period: it is the only shared key an
// ordinary record could conflict on, and records do not even read it.
func currentPeriod(st State) (uint64, error) {
	b, err := st.Get(keyCurrent)
	if err != nil || b == nil {
		return 0, err
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0, newError(CodeInternal, "stored current period: "+err.Error())
	}
	return n, nil
}

func (c *Contract) rollover(st State, arg []byte) (any, error) {
	if err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	if err := decodeArg(arg, &struct{}{}); err != nil {
		return nil, err
	}
	cur, err := currentPeriod(st)
	if err != nil {
		return nil, err
	}
	if cur > 0 {
		if cur > 1 {
			prev, err := loadPeriod(st, cur-1)
			if err != nil {
				return nil, err
			}
			if prev.State == PeriodGrace {
				return nil, newError(CodeFailedPrecondition, fmt.Sprintf("period %d is still in its grace window: close it first", prev.Number))
			}
		}
		p, err := loadPeriod(st, cur)
		if err != nil {
			return nil, err
		}
		p.State = PeriodGrace
		if err := putJSON(st, periodKey(cur), p); err != nil {
			return nil, err
		}
	}
	prices, err := loadPrices(st)
	if err != nil {
		return nil, err
	}
	policy, err := loadQualityPolicy(st)
	if err != nil {
		return nil, err
	}
	factors, err := priceFactors(st, policy, cur+1)
	if err != nil {
		return nil, err
	}
	next := &Period{Number: cur + 1, State: PeriodOpen, PriceList: prices, Quality: policy, Factors: factors, EntryBuckets: true}
	if err := putJSON(st, periodKey(next.Number), next); err != nil {
		return nil, err
	}
	return next, st.Put(keyCurrent, []byte(strconv.FormatUint(next.Number, 10)))
}

// closePeriod ends a period's grace window: no entry of it records after.
// It refuses while a provider's backlog report (ReportBacklog) still counts
// entries of the period its journal holds, unless Force is set: a provider
// in grace answers only retries of journalled requests, so an honest
// backlog only shrinks, and a provider that never drains delays the close
// only until the regulator forces it. Every close keeps on the period
// record the reports that were not drained and the active providers that
// never reported (Period.Undrained).
func (c *Contract) closePeriod(st State, arg []byte) (any, error) {
	if err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var a ClosePeriodArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	p, err := loadPeriodIn(st, a.Period, "closing", PeriodGrace)
	if err != nil {
		return nil, err
	}
	pending, missing, err := undrained(st, p.Number)
	if err != nil {
		return nil, err
	}
	if len(pending) > 0 && !a.Force {
		return nil, newError(CodeFailedPrecondition, fmt.Sprintf("period %d: providers report entries not recorded yet: %s; wait for their outboxes, or force the close", p.Number, describeBacklogs(pending)))
	}
	p.State, p.Undrained = PeriodClosed, append(pending, missing...)
	return nil, putJSON(st, periodKey(p.Number), p)
}

type settleEvent struct {
	TxID   string           `json:"txId"`
	Period uint64           `json:"period"`
	Net    map[string]int64 `json:"net"`
}

// settle runs one bounded step of a closed period's settlement: it reads at
// most MaxEntries entries after the period's cursor (one key range of a
// closed period, which no record can write to any more), adds them to the
// period's net changes, and on the last step applies the net changes to the
// balances. Memory is bounded by the number of institutions, not entries.
func (c *Contract) settle(st State, arg []byte) (any, error) {
	if err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var a SettleArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	step := a.MaxEntries
	if step == 0 {
		step = DefaultSettleStep
	}
	if step < 0 || step > MaxSettleStep {
		return nil, newError(CodeInvalidArgument, fmt.Sprintf("settle step must be 1 to %d", MaxSettleStep))
	}
	p, err := loadPeriodIn(st, a.Period, "settlement", PeriodClosed, PeriodSettling)
	if err != nil {
		return nil, err
	}
	if p.Number > 1 && p.State == PeriodClosed {
		prev, err := loadPeriod(st, p.Number-1)
		if err != nil {
			return nil, err
		}
		if prev.State != PeriodSettled && prev.State != PeriodSnapshotted {
			return nil, newError(CodeFailedPrecondition, fmt.Sprintf("period %d is not settled yet", prev.Number))
		}
	}
	if p.Net == nil {
		p.Net = map[string]int64{}
	}
	prefix := EntryPrefix(p.Number)
	start := prefix
	if p.Cursor != "" {
		start = p.Cursor + "\x00"
	}
	res := &SettleResult{Period: p.Number, Done: true}
	err = scan(st, start, rangeEnd(prefix), func(k string, v []byte) (bool, error) {
		if res.Processed == uint64(step) {
			res.Done = false
			return false, nil
		}
		// Only the fields settlement needs: skipping the header, hashes and
		// signatures saves their base64 decoding on every entry.
		var e struct {
			Key      EntryKey  `json:"key"`
			Amount   int64     `json:"amount"`
			Reversal *Reversal `json:"reversal"`
		}
		if err := decodeStored(k, v, &e); err != nil {
			return false, err
		}
		res.Processed++
		p.Entries++
		p.Cursor = k
		if e.Reversal != nil {
			p.Reversed++
			return true, nil
		}
		return true, applyNet(p.Net, e.Key.Requester, e.Key.Responder, e.Amount)
	})
	if err != nil {
		return nil, err
	}
	if !res.Done {
		p.State = PeriodSettling
		return res, putJSON(st, periodKey(p.Number), p)
	}
	p.State, p.Cursor = PeriodSettled, ""
	msps := make([]string, 0, len(p.Net))
	for m := range p.Net {
		msps = append(msps, m)
	}
	sort.Strings(msps)
	for _, m := range msps {
		flagged, err := addBalance(st, m, p.Net[m])
		if err != nil {
			return nil, err
		}
		if flagged {
			res.Flagged = append(res.Flagged, m)
		}
	}
	if err := putJSON(st, periodKey(p.Number), p); err != nil {
		return nil, err
	}
	return res, c.emit(st, EventSettle, &settleEvent{TxID: st.TxID(), Period: p.Number, Net: p.Net})
}

// applyNet charges amount to the requester and credits it to the responder.
func applyNet(net map[string]int64, requester, responder string, amount int64) error {
	var err error
	if net[requester], err = subTokens(net[requester], amount); err != nil {
		return err
	}
	net[responder], err = addTokens(net[responder], amount)
	return err
}

// addBalance adds delta to msp's balance and reports whether the result is
// below -limit.
func addBalance(st State, msp string, delta int64) (bool, error) {
	a, err := account(st, msp)
	if err != nil {
		return false, err
	}
	bal, err := addTokens(a.Balance, delta)
	if err != nil {
		return false, err
	}
	return bal < -a.Limit, putJSON(st, balanceKey(msp), bal)
}

func (c *Contract) getPeriod(st State, arg []byte) (any, error) {
	var a PeriodArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	return loadPeriodOrCurrent(st, a.Period)
}

// loadPeriodOrCurrent loads period n, or the current one if n is 0.
func loadPeriodOrCurrent(st State, n uint64) (*Period, error) {
	if n == 0 {
		cur, err := currentPeriod(st)
		if err != nil {
			return nil, err
		}
		if cur == 0 {
			return nil, newError(CodeNotFound, "no period is open yet")
		}
		n = cur
	}
	return loadPeriod(st, n)
}

// loadPeriodIn loads a period and checks that it is in one of the states an
// operation of the state machine needs, so that every step refuses alike.
func loadPeriodIn(st State, number uint64, op string, states ...PeriodState) (*Period, error) {
	p, err := loadPeriod(st, number)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(states, p.State) {
		return nil, newError(CodeFailedPrecondition, fmt.Sprintf("period %d is %s; %s needs it %v", p.Number, p.State, op, states))
	}
	return p, nil
}
