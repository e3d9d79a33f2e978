package ident

import (
	"strings"
)

// Type is an identifier type; its value is the prefix of the canonical form.
type Type string

const (
	Phone  Type = "phone"
	IDCard Type = "idcard"
	Card   Type = "card"
	Email  Type = "email"
	Device Type = "device"
)

// Types lists every supported type, in a stable order.
var Types = []Type{Phone, IDCard, Card, Email, Device}

// MaxRawLen bounds any raw input, before trimming, so normalisation cost is
// bounded no matter what a list file contains.
const MaxRawLen = 1024

// ID is a normalised identifier. Two IDs for the same person are equal, and
// String gives the bytes that are hashed.
type ID struct {
	Type  Type
	Value string // canonical value, without the "<type>:" prefix
}

// String returns the canonical typed form "<type>:<value>".
func (id ID) String() string { return string(id.AppendTo(nil)) }

// AppendTo appends the canonical form that String returns to b, so that
// batches of identifiers can be encoded into one buffer without an
// allocation per identifier.
func (id ID) AppendTo(b []byte) []byte {
	b = append(b, id.Type...)
	b = append(b, ':')
	return append(b, id.Value...)
}

// Config holds the options that change normalisation. Its zero value is the
// strict default.
type Config struct {
	// DefaultCallingCode is the country calling code (1-3 digits, no
	// leading zero, e.g. "86") assumed for phone numbers written without an
	// international prefix ("+" or "00"). Empty (the default): such numbers
	// are rejected with ErrCountryCode rather than guessed.
	DefaultCallingCode string
}

// Normalizer normalises identifiers under a validated Config.
type Normalizer struct {
	cfg Config
}

// New validates cfg once and returns a Normalizer.
func New(cfg Config) (*Normalizer, error) {
	if c := cfg.DefaultCallingCode; c != "" {
		if len(c) > 3 || c[0] == '0' || !allDigits(c) {
			return nil, fail(Phone, ErrCountryCode, "default calling code must be 1-3 digits without a leading zero")
		}
	}
	return &Normalizer{cfg: cfg}, nil
}

var strict Normalizer

// Normalize normalises raw as an identifier of type t with the zero Config.
func Normalize(t Type, raw string) (ID, error) { return strict.Normalize(t, raw) }

// ParseID normalises a typed string "<type>:<raw>" with the zero Config.
func ParseID(typed string) (ID, error) { return strict.ParseID(typed) }

// Normalize normalises raw as an identifier of type t.
func (n *Normalizer) Normalize(t Type, raw string) (ID, error) {
	if len(raw) > MaxRawLen {
		return ID{}, fail(t, ErrLength, "input longer than MaxRawLen")
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ID{}, fail(t, ErrEmpty, "empty after trimming")
	}
	var (
		v   string
		err error
	)
	switch t {
	case Phone:
		v, err = n.phone(raw)
	case IDCard:
		v, err = idCard(raw)
	case Card:
		v, err = bankCard(raw)
	case Email:
		v, err = email(raw)
	case Device:
		v, err = device(raw)
	default:
		return ID{}, fail("", ErrUnknownType, "type is not one of phone, idcard, card, email, device")
	}
	if err != nil {
		return ID{}, err
	}
	return ID{Type: t, Value: v}, nil
}

// ParseID normalises a typed string "<type>:<raw>", for example
// "phone:+86 138-0013-8000". The value part is normalised like Normalize
// does, so ParseID(id.String()) == id for every ID this package returns.
func (n *Normalizer) ParseID(typed string) (ID, error) {
	if len(typed) > MaxRawLen {
		return ID{}, fail("", ErrLength, "input longer than MaxRawLen")
	}
	prefix, raw, ok := strings.Cut(strings.TrimSpace(typed), ":")
	if !ok {
		return ID{}, fail("", ErrFormat, `missing "<type>:" prefix`)
	}
	t := Type(prefix)
	for _, known := range Types {
		if t == known {
			return n.Normalize(t, raw)
		}
	}
	return ID{}, fail("", ErrUnknownType, "type is not one of phone, idcard, card, email, device")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
