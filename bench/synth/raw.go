package synth

import (
	"strings"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// rawForm returns id the way a business system might hold it: with
// separators, in another case, with stray whitespace. Every form normalises
// back to id under psi/ident's strict zero Config (no default calling code),
// so lists and batches exercise normalisation without changing what
// matches. variant selects the form deterministically; forms that do not
// apply to a type fall back to the canonical value.
func rawForm(id ident.ID, variant uint64) string {
	v := id.Value
	switch variant % 5 {
	case 0:
		return v
	case 1:
		return " " + v + " "
	}
	switch id.Type {
	case ident.Phone:
		return rawPhone(v, variant%5 == 2)
	case ident.IDCard:
		return strings.ToLower(v) // only a final X changes
	case ident.Card:
		return groupDigits(v, 4, sepFor(variant))
	case ident.Email:
		local, domain, _ := strings.Cut(v, "@")
		return strings.ToUpper(local[:1]) + local[1:] + "@" + strings.ToUpper(domain)
	}
	return v
}

// sepFor is the digit-group separator of a raw form: dashes or spaces.
func sepFor(variant uint64) string {
	if variant%5 == 3 {
		return "-"
	}
	return " "
}

// rawPhone writes "+86 138 0013 8000" or, with the international prefix,
// "0086-138-0013-8000". Numbers from no known plan stay canonical.
func rawPhone(v string, plus bool) string {
	for _, p := range phonePlans {
		national, ok := strings.CutPrefix(v[1:], p.code)
		if !ok || len(national) != len(p.prefixes[0])+p.rest {
			continue
		}
		if plus {
			return "+" + p.code + " " + groupDigits(national, 4, " ")
		}
		return "00" + p.code + "-" + groupDigits(national, 4, "-")
	}
	return v
}

// groupDigits splits s into groups of n counted from the right, joined by
// sep: "13800138000" becomes "138 0013 8000".
func groupDigits(s string, n int, sep string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/n*len(sep))
	first := len(s) % n
	if first == 0 {
		first = n
	}
	b.WriteString(s[:first])
	for i := first; i < len(s); i += n {
		b.WriteString(sep)
		b.WriteString(s[i : i+n])
	}
	return b.String()
}
