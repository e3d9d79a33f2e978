package synth

import "math/rand/v2"

// numberingPlan describes mobile numbers of one country: the calling code,
// the leading digits of the national number and how many random digits
// follow them.
type numberingPlan struct {
	code     string
	prefixes []string
	rest     int
	weight   int
}

// phonePlans are mobile ranges shaped like the real ones; most numbers are
// mainland Chinese because the consortium is. Numbers are random within the
// range, so some will be assigned to real subscribers: this is test data
// and never leaves the machine that generates it.
var phonePlans = []numberingPlan{
	// Mainland China: 11-digit mobile numbers, 1 + 2-digit network code.
	{code: "86", prefixes: []string{
		"130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
		"150", "151", "152", "153", "155", "156", "157", "158", "159",
		"166", "170", "173", "175", "176", "177", "178",
		"180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
		"191", "198", "199",
	}, rest: 8, weight: 85},
	{code: "852", prefixes: []string{"5", "6", "9"}, rest: 7, weight: 5},                     // Hong Kong
	{code: "65", prefixes: []string{"8", "9"}, rest: 7, weight: 3},                           // Singapore
	{code: "44", prefixes: []string{"71", "74", "75", "77", "78", "79"}, rest: 8, weight: 3}, // UK
	{code: "1", prefixes: []string{"212", "415", "646", "917"}, rest: 7, weight: 4},          // US
}

// phoneWeights are the plans' weights, in order, for weighted.
var phoneWeights, phoneWeightSum = func() ([]int, int) {
	w, sum := make([]int, len(phonePlans)), 0
	for i, p := range phonePlans {
		w[i] = p.weight
		sum += p.weight
	}
	return w, sum
}()

// appendPhone appends an E.164 number "+<code><national>".
func appendPhone(b []byte, r *rand.Rand) []byte {
	p := phonePlans[weighted(r, phoneWeights, phoneWeightSum)]
	b = append(b, '+')
	b = append(b, p.code...)
	b = append(b, pick(r, p.prefixes)...)
	if p.code == "1" {
		// North American exchange codes cannot start with 0 or 1.
		b = append(b, byte('2'+r.IntN(8)))
		return appendDigits(b, r, p.rest-1)
	}
	return appendDigits(b, r, p.rest)
}
