package chaincode

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/riskmesh/riskmesh/internal/labelhash"
)

// LabelPayments is the domain-separation label of PaymentsDigest. "v1" is
// bumped, never reused, if the CSV layout changes.
const LabelPayments = "riskmesh/v1/ledger/payments-csv"

// PaymentsHeader is the first line of every payment instructions file.
const PaymentsHeader = "snapshot,through,payer,payee,amount\n"

// Payment is one transfer of a snapshot's payment instructions: Payer pays
// Payee Amount tokens (> 0).
type Payment struct {
	Payer  string `json:"payer"`
	Payee  string `json:"payee"`
	Amount int64  `json:"amount"`
}

// party is one side of the netting: what it owes or is owed.
type party struct {
	msp    string
	amount int64
}

// Payments nets a snapshot's balances into transfers: every debtor (a
// negative balance) pays, every creditor (a positive one) is paid, and
// nobody else appears. The rule: debtors in order of the amount they owe,
// largest first, creditors in order of the amount owed to them, largest
// first, ties by MSP id; the first debtor pays the first creditor the
// smaller of the two amounts, and whichever is settled by it gives way to
// the next. Each transfer settles at least one party, so there are at most
// debtors + creditors - 1 of them; fewer is possible only when some debts
// add up exactly to some credits, a subset-sum search this rule does not
// attempt. The same balances always give the same transfers.
//
// Balances sum to zero (every charge moves tokens from a requester to a
// responder); a snapshot whose balances do not is refused as corrupted.
func Payments(balances map[string]int64) ([]Payment, error) {
	var debtors, creditors []party
	var owed, due int64
	var err error
	for _, m := range slices.Sorted(maps.Keys(balances)) {
		b := balances[m]
		switch {
		case b == math.MinInt64:
			return nil, newError(CodeInternal, "snapshot balance out of range")
		case b < 0:
			debtors = append(debtors, party{m, -b})
			owed, err = addTokens(owed, -b)
		case b > 0:
			creditors = append(creditors, party{m, b})
			due, err = addTokens(due, b)
		}
		if err != nil {
			return nil, newError(CodeInternal, "snapshot balances overflow")
		}
	}
	if owed != due {
		return nil, newError(CodeInternal, fmt.Sprintf("snapshot balances do not net: %d owed, %d due", owed, due))
	}
	larger := func(a, b party) int { return cmp.Or(cmp.Compare(b.amount, a.amount), cmp.Compare(a.msp, b.msp)) }
	slices.SortStableFunc(debtors, larger)
	slices.SortStableFunc(creditors, larger)
	out := make([]Payment, 0, max(len(debtors)+len(creditors)-1, 0))
	for d, c := 0, 0; d < len(debtors) && c < len(creditors); {
		amount := min(debtors[d].amount, creditors[c].amount)
		out = append(out, Payment{Payer: debtors[d].msp, Payee: creditors[c].msp, Amount: amount})
		debtors[d].amount -= amount
		creditors[c].amount -= amount
		if debtors[d].amount == 0 {
			d++
		}
		if creditors[c].amount == 0 {
			c++
		}
	}
	return out, nil
}

// PaymentsCSV returns a snapshot's payment instructions as CSV: the line
// PaymentsHeader, then one line per transfer of Payments, in its order:
//
//	snapshot,through,payer,payee,amount
//	7,37,Bank1MSP,Bank2MSP,1200
//
// decimal integers, "\n" line ends, no quoting (MSP ids are
// [A-Za-z0-9._-]). The bytes depend only on the snapshot's id, last period
// and balances, so every export of a snapshot is the same file.
func PaymentsCSV(s *Snapshot) ([]byte, error) {
	pays, err := Payments(s.Balances)
	if err != nil {
		return nil, err
	}
	through := s.Through
	if through == 0 {
		through = s.Period
	}
	out := []byte(PaymentsHeader)
	for _, p := range pays {
		if !ValidMSPID(p.Payer) || !ValidMSPID(p.Payee) {
			return nil, newError(CodeInternal, "snapshot names an invalid MSP id")
		}
		out = strconv.AppendUint(out, s.Period, 10)
		out = append(out, ',')
		out = strconv.AppendUint(out, through, 10)
		out = append(out, ',')
		out = append(out, p.Payer...)
		out = append(out, ',')
		out = append(out, p.Payee...)
		out = append(out, ',')
		out = strconv.AppendInt(out, p.Amount, 10)
		out = append(out, '\n')
	}
	return out, nil
}

// PaymentsDigest is what the ledger records of a payment instructions
// file (RecordPayments): SHA-256(uint8 len || LabelPayments || the file's
// bytes). The file is the only part, so it needs no framing of its own.
func PaymentsDigest(csv []byte) [HashSize]byte { return labelhash.Sum(LabelPayments, csv) }
