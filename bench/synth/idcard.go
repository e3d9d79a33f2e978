package synth

import (
	"math/rand/v2"
	"time"
)

// provinces are the two-digit province-level codes of GB/T 2260 that
// resident identity numbers start with. The city and county digits after
// them are random within small ranges, so a region code looks plausible but
// need not exist.
var provinces = []string{
	"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
	"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
}

// Birth dates are drawn from this window: adults of working age in the
// window's last year.
var (
	birthFirst = time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	birthDays  = int(time.Date(2005, 12, 31, 0, 0, 0, 0, time.UTC).Sub(birthFirst).Hours()/24) + 1
)

// idCardWeights and idCardCheck are the ISO 7064 MOD 11-2 weights and check
// characters of GB 11643-1999.
var idCardWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCardCheck = "10X98765432"

// appendIDCard appends an 18-character resident identity number: region,
// birth date YYYYMMDD, 3-digit sequence, check character (0-9 or X).
func appendIDCard(b []byte, r *rand.Rand) []byte {
	start := len(b)
	b = append(b, pick(r, provinces)...)
	b = appendTwo(b, 1+r.IntN(20)) // city
	b = appendTwo(b, 1+r.IntN(30)) // county
	y, m, d := birthFirst.AddDate(0, 0, r.IntN(birthDays)).Date()
	b = appendTwo(b, y/100)
	b = appendTwo(b, y%100)
	b = appendTwo(b, int(m))
	b = appendTwo(b, d)
	b = appendDigits(b, r, 3)
	sum := 0
	for i, w := range idCardWeights {
		sum += int(b[start+i]-'0') * w
	}
	return append(b, idCardCheck[sum%11])
}

// appendTwo appends v (0..99) as two digits.
func appendTwo(b []byte, v int) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10))
}
