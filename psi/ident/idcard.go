package ident

// idCardLen is the length of a second-generation resident identity number.
const idCardLen = 18

// idCardWeights are 2^(17-i) mod 11, the ISO 7064 MOD 11-2 weights for the
// 17 body digits; idCardCheck maps the weighted sum mod 11 to the check
// character.
var idCardWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCardCheck = "10X98765432"

// Birth years accepted. The check is against fixed bounds, not the clock, so
// normalisation gives the same answer on every machine and every day; a
// date in the future is therefore not rejected (the checksum still applies).
const (
	minBirthYear = 1800
	maxBirthYear = 2199
)

// idCard validates a PRC resident identity number: 17 digits (6-digit
// region, YYYYMMDD birth date, 3-digit sequence) and a check character,
// lower-case x accepted and returned as X. Surrounding whitespace is trimmed
// by the caller; separators inside are not accepted, and 15-digit
// first-generation numbers (retired in 2013) are rejected with ErrLength.
func idCard(raw string) (string, error) {
	if len(raw) != idCardLen {
		return "", fail(IDCard, ErrLength, "resident identity numbers have 18 characters")
	}
	var b [idCardLen]byte
	copy(b[:], raw)
	if !allDigits(string(b[:17])) {
		return "", fail(IDCard, ErrFormat, "the first 17 characters must be digits")
	}
	if b[17] == 'x' {
		b[17] = 'X'
	}
	if c := b[17]; (c < '0' || c > '9') && c != 'X' {
		return "", fail(IDCard, ErrFormat, "the check character must be a digit or X")
	}
	if b[0] == '0' {
		return "", fail(IDCard, ErrFormat, "region code cannot start with 0")
	}
	if !validDate(b[6:14]) {
		return "", fail(IDCard, ErrDate, "birth date (characters 7-14) is not a valid YYYYMMDD date in 1800-2199")
	}
	sum := 0
	for i, w := range idCardWeights {
		sum += int(b[i]-'0') * w
	}
	if idCardCheck[sum%11] != b[17] {
		return "", fail(IDCard, ErrChecksum, "ISO 7064 MOD 11-2 check character does not match")
	}
	return string(b[:]), nil
}

// validDate reports whether d (8 ASCII digits) is a calendar date YYYYMMDD
// with minBirthYear <= YYYY <= maxBirthYear.
func validDate(d []byte) bool {
	num := func(s []byte) int {
		v := 0
		for _, c := range s {
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, m, day := num(d[:4]), num(d[4:6]), num(d[6:8])
	if y < minBirthYear || y > maxBirthYear || m < 1 || m > 12 || day < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && (y%4 == 0 && y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return day <= days
}
