package synth

import "math/rand/v2"

// syllables are pinyin syllables common in Chinese given names and surnames;
// local parts are built from them so that addresses look like the ones a
// Chinese lender's customers use.
var syllables = []string{
	"wang", "li", "zhang", "liu", "chen", "yang", "huang", "zhao", "wu", "zhou",
	"xu", "sun", "ma", "zhu", "hu", "guo", "he", "lin", "luo", "gao",
	"wei", "fang", "min", "jing", "lei", "jun", "yan", "hui", "xin", "ying",
	"hao", "yu", "ting", "qiang", "ping", "hong", "mei", "jie", "tao", "bo",
}

// emailDomains are reserved names (RFC 2606 and RFC 6761), so no address can
// reach anyone.
var emailDomains = []string{
	"example.com", "example.net", "example.org",
	"mail.example.com", "corp.example.net", "bank.test", "post.test",
}

// appendEmail appends a lower-case address such as "wang.lei1987@example.com".
func appendEmail(b []byte, r *rand.Rand) []byte {
	b = append(b, pick(r, syllables)...)
	switch r.IntN(3) {
	case 0:
		b = append(b, '.')
	case 1:
		b = append(b, '_')
	}
	b = append(b, pick(r, syllables)...)
	if r.IntN(2) == 0 {
		b = append(b, pick(r, syllables)...)
	}
	b = appendDigits(b, r, 2+r.IntN(4))
	b = append(b, '@')
	return append(b, pick(r, emailDomains)...)
}
