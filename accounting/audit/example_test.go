package audit_test

import (
	"fmt"
	"os"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/audit"
)

// A report whose proof check failed on a transcript that is exactly what
// the ledger billed: the dispute is upheld.
func ExampleDecide() {
	r := &audit.Report{
		Key:         accounting.EntryKey{Period: 7, Requester: "Bank1MSP", Responder: "Bank2MSP", Sequence: 42},
		Protocol:    "catalog-oprf",
		Category:    "black",
		Count:       3,
		PeriodState: accounting.PeriodOpen,
	}
	for _, name := range []string{audit.CheckEntry, audit.CheckHeader, audit.CheckRequestHash, audit.CheckResponseHash,
		audit.CheckRequesterSignature, audit.CheckResponderSignature, audit.CheckOPRFKey, audit.CheckAmount, audit.CheckReversal} {
		r.Checks = append(r.Checks, audit.Check{Name: name, Status: audit.Pass})
	}
	r.Checks = append(r.Checks, audit.Check{Name: audit.CheckProof, Status: audit.Fail, Detail: "oprf: proof verification failed"})

	d := audit.Decide(r)
	fmt.Println(d.Verdict == accounting.VerdictUpheld, r.Failed())
	_ = r.WriteText(os.Stdout)
	// Output:
	// true [proof]
	// entry entry/00000000000000000007/Bank1MSP/Bank2MSP/00000000000000000042: catalog-oprf, black, 3 item(s)
	// period state: open
	// result: 1 check(s) failed
	//   pass  entry
	//   pass  header
	//   pass  request-hash
	//   pass  response-hash
	//   pass  requester-signature
	//   pass  responder-signature
	//   pass  oprf-key
	//   pass  amount
	//   pass  reversal
	//   fail  proof                oprf: proof verification failed
}
