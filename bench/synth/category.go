package synth

import "fmt"

// Category is a list category's numeric code, the value of
// catalog.Label.Category. The codes follow the consortium convention used
// throughout RiskMesh: 1 black, 2 grey, 3 yellow.
type Category uint8

const (
	Black  Category = 1 // confirmed fraud
	Grey   Category = 2 // suspicious
	Yellow Category = 3 // watch
)

// Categories lists the categories in code order.
var Categories = []Category{Black, Grey, Yellow}

// String returns the category's name as queries and the ledger spell it
// ("black", "grey", "yellow").
func (c Category) String() string {
	switch c {
	case Black:
		return "black"
	case Grey:
		return "grey"
	case Yellow:
		return "yellow"
	}
	return fmt.Sprintf("category(%d)", uint8(c))
}

// valid reports whether c is one of the generated categories.
func (c Category) valid() bool { return c >= Black && c <= Yellow }

// Reason is one entry of the made-up reason-code table the generated lists
// use; the code is what goes into catalog.Label.Reason.
type Reason struct {
	Code uint16
	Text string
}

// reasons is the code table per category. Codes are grouped by category
// (1xx black, 2xx grey, 3xx yellow) so that a label is readable at a
// glance; a real consortium would publish its own table.
var reasons = map[Category][]Reason{
	Black: {
		{101, "identity fraud"}, {102, "card fraud"}, {103, "money mule account"},
		{104, "loan fraud"}, {105, "account takeover"},
	},
	Grey: {
		{201, "suspicious transactions"}, {202, "synthetic identity suspected"},
		{203, "multiple applications"}, {204, "device linked to fraud"},
	},
	Yellow: {
		{301, "payment default"}, {302, "chargeback dispute"},
		{303, "address mismatch"}, {304, "document expired"},
	},
}

// Reasons returns the reason codes generated for category c, in code order.
func Reasons(c Category) []Reason {
	return append([]Reason(nil), reasons[c]...)
}

// ReasonText returns the description of a generated reason code, or "" for
// a code not in the table.
func ReasonText(code uint16) string {
	for _, rs := range reasons {
		for _, r := range rs {
			if r.Code == code {
				return r.Text
			}
		}
	}
	return ""
}
