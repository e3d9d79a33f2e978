// Package names holds the consortium's naming rules for the strings that end
// up inside ledger keys, POPRF info strings, signed transcript headers and
// catalog metadata: MSP ids and category names. Every layer checks them with
// these functions, so a name the PSI layer accepts is one the ledger accepts.
//
// MSP ids and categories are restricted to [A-Za-z0-9._-]: no separator the
// ledger keys ("/") or the POPRF info ("|") use can appear inside one, which
// keeps those encodings unambiguous.
package names

const (
	// MaxMSPIDLen bounds an MSP id.
	MaxMSPIDLen = 128
	// MaxCategoryLen bounds a category name.
	MaxCategoryLen = 64
	// MaxKafkaTopicLen is Kafka's own bound on a topic name.
	MaxKafkaTopicLen = 249
)

// MSPID reports whether s is a valid MSP id: 1 to MaxMSPIDLen bytes of
// [A-Za-z0-9._-].
func MSPID(s string) bool { return token(s, MaxMSPIDLen) }

// Category reports whether s is a valid category name: 1 to MaxCategoryLen
// bytes of [A-Za-z0-9._-].
func Category(s string) bool { return token(s, MaxCategoryLen) }

// KafkaTopic reports whether s is a Kafka topic name node/push accepts: 1
// to MaxKafkaTopicLen bytes of [A-Za-z0-9._-], Kafka's own character set.
func KafkaTopic(s string) bool { return token(s, MaxKafkaTopicLen) }

// Word reports whether s is 1 to max bytes of printable ASCII without spaces
// (suite names and similar identifiers).
func Word(s string, max int) bool { return ascii(s, max, '!') }

// Text reports whether s is 1 to max bytes of printable ASCII, spaces
// included (display names, endpoints).
func Text(s string, max int) bool { return ascii(s, max, ' ') }

func token(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func ascii(s string, max int, lowest byte) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < lowest || s[i] > '~' {
			return false
		}
	}
	return true
}
