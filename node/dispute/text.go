package dispute

import (
	"fmt"
	"io"
	"strings"

	"github.com/riskmesh/riskmesh/internal/printable"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// maxShownText bounds each text of a verdict WriteText shows: the
// auditor's reason and check details are its own words.
const maxShownText = 4096

// WriteText writes the outcome as `riskmesh dispute` shows it: the entry,
// the auditor, what happened to the charge and the reason, then one line
// per check.
func (o *Outcome) WriteText(w io.Writer) error {
	v := o.Verdict
	k := v.GetKey()
	result := "rejected: the charge stands"
	switch {
	case o.Reversed:
		result = "upheld: the charge is reversed on the ledger"
	case o.Pending:
		result = "rejected for now: the provider has not recorded the entry yet; dispute again later"
	}
	if _, err := fmt.Fprintf(w, "dispute %d on entry %d/%s/%s/%d by %s: %s\nreason: %s\n",
		v.GetDisputeId(), k.GetPeriod(), shown(k.GetRequester()), shown(k.GetResponder()), k.GetSequence(),
		shown(v.GetAuditor()), result, shown(v.GetReason())); err != nil {
		return err
	}
	for _, c := range v.GetChecks() {
		status := strings.ToLower(strings.TrimPrefix(c.GetStatus().String(), "AUDIT_STATUS_"))
		if c.GetStatus() == riskmeshv1.AuditStatus_AUDIT_STATUS_UNSPECIFIED {
			status = "?"
		}
		line := strings.TrimRight(fmt.Sprintf("  %-4s  %-19s  %s", status, shown(c.GetName()), shown(c.GetDetail())), " ")
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

func shown(s string) string { return printable.String(s, maxShownText) }
