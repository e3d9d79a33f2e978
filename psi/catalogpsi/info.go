package catalogpsi

import (
	"strconv"

	"github.com/riskmesh/riskmesh/psi/transcript"
)

// infoPrefix versions the POPRF public info. Changing the prefix gives every
// provider a fresh, unrelated PRF, as a period change does.
const infoPrefix = "riskmesh/v1|"

// Suite is the OPRF suite name recorded in catalogs and transcripts.
const Suite = transcript.SuiteRistretto255SHA512

// Info returns the POPRF public info for a category and period,
// "riskmesh/v1|<category>|<period>" with the period in decimal. The period
// tweak makes every period's PRF outputs fresh, so answers bought in one
// period are worthless in the next. Categories are validated where they
// enter (transcript headers and catalog metadata restrict them to
// [A-Za-z0-9._-]), so the separator cannot occur inside one.
func Info(category string, period uint64) []byte {
	b := make([]byte, 0, len(infoPrefix)+len(category)+1+20)
	b = append(b, infoPrefix...)
	b = append(b, category...)
	b = append(b, '|')
	return strconv.AppendUint(b, period, 10)
}
