package ident

import (
	"errors"
	"strings"
	"testing"
)

type normCase struct {
	name string
	raw  string
	want string // canonical value; empty when an error is expected
	err  error
}

// runCases checks each case with n, and that errors name the type without
// echoing the input.
func runCases(t *testing.T, n *Normalizer, typ Type, cases []normCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, err := n.Normalize(typ, tc.raw)
			if tc.err != nil {
				assertIdentError(t, err, typ, tc.err, tc.raw)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if id.Type != typ || id.Value != tc.want {
				t.Fatalf("got %q, want %q", id, string(typ)+":"+tc.want)
			}
			again, err := n.ParseID(id.String())
			if err != nil || again != id {
				t.Fatalf("ParseID(%q) = %q, %v: not idempotent", id, again, err)
			}
		})
	}
}

func assertIdentError(t *testing.T, err error, typ Type, want error, raw string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not *ident.Error", err)
	}
	if e.Type != typ {
		t.Fatalf("error names type %q, want %q", e.Type, typ)
	}
	if !strings.Contains(err.Error(), string(typ)) {
		t.Fatalf("message %q does not name the type", err)
	}
	if r := strings.TrimSpace(raw); len(r) >= 4 && strings.Contains(err.Error(), r) {
		t.Fatalf("message %q echoes the input", err)
	}
}

func mustNew(t *testing.T, cfg Config) *Normalizer {
	t.Helper()
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPhone(t *testing.T) {
	runCases(t, mustNew(t, Config{}), Phone, []normCase{
		{"E.164", "+8613800138000", "+8613800138000", nil},
		{"spaces and dashes", " +86 138-0013-8000 ", "+8613800138000", nil},
		{"dots and parentheses", "+1 (415) 555.2671", "+14155552671", nil},
		{"00 prefix", "0086 138 0013 8000", "+8613800138000", nil},
		{"(0) after country code", "+44 (0)20 7946 0958", "+442079460958", nil},
		{"15 digits", "+123456789012345", "+123456789012345", nil},
		{"7 digits", "+2904001", "+2904001", nil},
		{"national without default", "13800138000", "", ErrCountryCode},
		{"16 digits", "+1234567890123456", "", ErrLength},
		{"too short", "+12345", "", ErrLength},
		{"country code 0", "+0861380013800", "", ErrFormat},
		{"letters", "+86 138 CALL ME", "", ErrFormat},
		{"plus inside", "86+13800138000", "", ErrFormat},
		{"only plus", "+", "", ErrFormat},
		{"full-width digits", "+８６13800138000", "", ErrFormat},
		{"tab inside", "+86\t13800138000", "", ErrFormat},
		{"blank", "   ", "", ErrEmpty},
		{"oversized", "+" + strings.Repeat("1", MaxRawLen), "", ErrLength},
	})
}

func TestPhoneDefaultCallingCode(t *testing.T) {
	runCases(t, mustNew(t, Config{DefaultCallingCode: "86"}), Phone, []normCase{
		{"mobile", "138 0013 8000", "+8613800138000", nil},
		{"landline trunk prefix", "010-1234-5678", "+861012345678", nil},
		{"international still wins", "+1 415 555 2671", "+14155552671", nil},
		{"00 still wins", "00 1 415 555 2671", "+14155552671", nil},
		{"too long with code", "1380013800012345", "", ErrLength},
	})
}

func TestNewRejectsBadCallingCode(t *testing.T) {
	for _, code := range []string{"0", "086", "1234", "8a", "+86"} {
		t.Run(code, func(t *testing.T) {
			if _, err := New(Config{DefaultCallingCode: code}); !errors.Is(err, ErrCountryCode) {
				t.Fatalf("got %v, want ErrCountryCode", err)
			}
		})
	}
}

func TestIDCard(t *testing.T) {
	runCases(t, mustNew(t, Config{}), IDCard, []normCase{
		{"check X", "11010519491231002X", "11010519491231002X", nil},
		{"lower-case x", "11010519491231002x", "11010519491231002X", nil},
		{"check digit", "110105194912310038", "110105194912310038", nil},
		{"leap day 2000", "440308200002291231", "440308200002291231", nil},
		{"year 1800", "110105180001010010", "110105180001010010", nil},
		{"surrounding space", " 11010519491231002X\n", "11010519491231002X", nil},
		{"wrong check", "110105194912310021", "", ErrChecksum},
		{"transposed digits", "11001519491231002X", "", ErrChecksum},
		{"17 chars", "11010519491231002", "", ErrLength},
		{"15-digit old format", "110105491231002", "", ErrLength},
		{"19 chars", "11010519491231002XX", "", ErrLength},
		{"letter in body", "1101051949123A002X", "", ErrFormat},
		{"bad check char", "11010519491231002Y", "", ErrFormat},
		{"internal space", "110105 1949123100X", "", ErrFormat},
		{"region 0", "01010519491231002X", "", ErrFormat},
		{"month 13", "110105194913310020", "", ErrDate},
		{"Feb 29 1900", "310115190002291234", "", ErrDate},
		{"day 0", "110105194912000020", "", ErrDate},
		{"year 1799", "110105179912310020", "", ErrDate},
	})
}

func TestBankCard(t *testing.T) {
	runCases(t, mustNew(t, Config{}), Card, []normCase{
		{"16 digits", "4111111111111111", "4111111111111111", nil},
		{"spaces", "6222 0202 0011 2233 49", "622202020011223349", nil},
		{"dashes", "4111-1111-1111-1111", "4111111111111111", nil},
		{"12 digits", "123456789015", "123456789015", nil},
		{"19 digits", "6228480000000000000", "6228480000000000000", nil},
		{"Luhn fails", "4111111111111112", "", ErrChecksum},
		{"11 digits", "12345678903", "", ErrLength},
		{"20 digits", "62284800000000000000", "", ErrLength},
		{"letters", "4111 1111 1111 111A", "", ErrFormat},
		{"dots", "4111.1111.1111.1111", "", ErrFormat},
	})
}

func TestEmail(t *testing.T) {
	runCases(t, mustNew(t, Config{}), Email, []normCase{
		{"plain", "alice@example.com", "alice@example.com", nil},
		{"case folded", " Alice.Smith@Example.COM ", "alice.smith@example.com", nil},
		{"plus tag kept", "bob+risk@mail.example.cn", "bob+risk@mail.example.cn", nil},
		{"atext symbols", "o'neil_#1@ex-ample.org", "o'neil_#1@ex-ample.org", nil},
		{"64-char local", strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com", nil},
		{"missing @", "alice.example.com", "", ErrFormat},
		{"two @", "a@b@example.com", "", ErrFormat},
		{"empty local", "@example.com", "", ErrLength},
		{"65-char local", strings.Repeat("a", 65) + "@example.com", "", ErrLength},
		{"over 254", strings.Repeat("a", 60) + "@" + strings.Repeat("b.", 100) + "com", "", ErrLength},
		{"leading dot", ".alice@example.com", "", ErrFormat},
		{"double dot", "al..ice@example.com", "", ErrFormat},
		{"quoted local", `"al ice"@example.com`, "", ErrFormat},
		{"single-label domain", "alice@localhost", "", ErrFormat},
		{"trailing dot domain", "alice@example.com.", "", ErrFormat},
		{"hyphen label", "alice@-example.com", "", ErrFormat},
		{"underscore in domain", "alice@ex_ample.com", "", ErrFormat},
		{"address literal", "alice@[192.0.2.1]", "", ErrFormat},
		{"non-ASCII domain", "alice@例え.jp", "", ErrFormat},
		{"non-ASCII local", "ålice@example.com", "", ErrFormat},
	})
}

func TestDevice(t *testing.T) {
	runCases(t, mustNew(t, Config{}), Device, []normCase{
		{"IMEI", "490154203237518", "490154203237518", nil},
		{"UUID case preserved", "6B29FC40-CA47-1067-B31D-00dd010662DA", "6B29FC40-CA47-1067-B31D-00dd010662DA", nil},
		{"trimmed", "  abc:DEF/ghi=  ", "abc:DEF/ghi=", nil},
		{"128 chars", strings.Repeat("z", 128), strings.Repeat("z", 128), nil},
		{"129 chars", strings.Repeat("z", 129), "", ErrLength},
		{"inner space", "abc def", "", ErrFormat},
		{"control char", "abc\x00def", "", ErrFormat},
		{"non-ASCII", "设备123", "", ErrFormat},
	})
}

func TestParseID(t *testing.T) {
	tests := []struct {
		name  string
		typed string
		want  string
		err   error
	}{
		{"phone", "phone:+86 138 0013 8000", "phone:+8613800138000", nil},
		{"idcard", "idcard:11010519491231002x", "idcard:11010519491231002X", nil},
		{"card", "card:4111 1111 1111 1111", "card:4111111111111111", nil},
		{"email", "email:Alice@Example.com", "email:alice@example.com", nil},
		{"device with colon", "device:ab:cd", "device:ab:cd", nil},
		{"no prefix", "+8613800138000", "", ErrFormat},
		{"unknown type", "passport:E12345678", "", ErrUnknownType},
		{"upper-case type", "PHONE:+8613800138000", "", ErrUnknownType},
		{"invalid value", "card:4111111111111112", "", ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := ParseID(tt.typed)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got error %v, want %v", err, tt.err)
			}
			if err == nil && id.String() != tt.want {
				t.Fatalf("got %q, want %q", id, tt.want)
			}
		})
	}
}

func TestNormalizeUnknownType(t *testing.T) {
	_, err := Normalize("ssn", "078-05-1120")
	if !errors.Is(err, ErrUnknownType) {
		t.Fatalf("got %v, want ErrUnknownType", err)
	}
	if strings.Contains(err.Error(), "078-05-1120") {
		t.Fatal("error echoes the input")
	}
}
