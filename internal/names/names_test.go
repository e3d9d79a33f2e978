package names

import (
	"strings"
	"testing"
)

func TestRules(t *testing.T) {
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"msp id", MSPID("Bank1MSP"), true},
		{"msp id with dot dash underscore", MSPID("org-1.bank_a"), true},
		{"msp id empty", MSPID(""), false},
		{"msp id with slash", MSPID("Bank/1"), false},
		{"msp id with pipe", MSPID("Bank|1"), false},
		{"msp id with space", MSPID("Bank 1"), false},
		{"msp id at bound", MSPID(strings.Repeat("m", MaxMSPIDLen)), true},
		{"msp id over bound", MSPID(strings.Repeat("m", MaxMSPIDLen+1)), false},
		{"category", Category("black"), true},
		{"category with pipe", Category("black|1"), false},
		{"category non-ASCII", Category("黑"), false},
		{"category over bound", Category(strings.Repeat("c", MaxCategoryLen+1)), false},
		{"kafka topic at bound", KafkaTopic(strings.Repeat("t", MaxKafkaTopicLen)), true},
		{"kafka topic over bound", KafkaTopic(strings.Repeat("t", MaxKafkaTopicLen+1)), false},
		{"kafka topic with slash", KafkaTopic("risk/events"), false},
		{"word", Word("ristretto255-SHA512", 32), true},
		{"word with space", Word("a b", 32), false},
		{"word with control byte", Word("a\x00", 32), false},
		{"word over bound", Word("abc", 2), false},
		{"text with space", Text("Bank One, Ltd.", 64), true},
		{"text with newline", Text("a\nb", 64), false},
		{"text with DEL", Text("a\x7f", 64), false},
		{"text empty", Text("", 64), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}
