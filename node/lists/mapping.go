package lists

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// Field names used in RowError.Field.
const (
	FieldID        = "id"
	FieldType      = "type"
	FieldCategory  = "category"
	FieldReason    = "reason"
	FieldListed    = "listed"
	FieldReference = "reference"
)

// Mapping names the columns (CSV/TSV header names) or fields (NDJSON keys)
// that hold each part of an entry.
type Mapping struct {
	ID string // raw identifier; required
	// Type names the column holding each row's identifier type ("phone",
	// "idcard", "card", "email", "device"). Empty: every row has FixedType.
	// Exactly one of Type and FixedType must be set.
	Type      string
	FixedType ident.Type
	Category  string // category code, decimal 1..255; required
	Reason    string // reason code, decimal 0..65535; required
	Listed    string // listed date, YYYY-MM-DD; required
	Reference string // provider reference, at most 8 bytes; optional (empty: none)
}

func (m Mapping) validate() error {
	if m.ID == "" || m.Category == "" || m.Reason == "" || m.Listed == "" {
		return fmt.Errorf("%w: mapping needs id, category, reason and listed", ErrConfig)
	}
	if (m.Type == "") == (m.FixedType == "") {
		return fmt.Errorf("%w: mapping needs exactly one of type column and fixed type", ErrConfig)
	}
	if m.FixedType != "" {
		if !knownType(m.FixedType) {
			return fmt.Errorf("%w: unknown fixed type %q", ErrConfig, m.FixedType)
		}
	}
	return nil
}

// names lists the mapped names with their field, in a fixed order; the
// index of each is its slot in a rawRow.
func (m Mapping) names() [6]string {
	return [6]string{m.ID, m.Type, m.Category, m.Reason, m.Listed, m.Reference}
}

// Slots of a rawRow, in the order of Mapping.names.
const (
	slotID = iota
	slotType
	slotCategory
	slotReason
	slotListed
	slotReference
	numSlots
)

var slotField = [numSlots]string{FieldID, FieldType, FieldCategory, FieldReason, FieldListed, FieldReference}

// rawRow is one record's mapped fields as text, before any checking.
type rawRow [numSlots]string

// typedRow is one record's fields once decoded from its format (text for
// files, SQL types for PostgreSQL) and before the label is checked.
type typedRow struct {
	id, typ  string
	category int64
	reason   int64
	listed   catalog.Date
	ref      string
}

// entryBuilder turns rows into entries; the one place where every source's
// rows are checked, so that all sources accept exactly the same values.
type entryBuilder struct {
	norm      *ident.Normalizer
	fixedType ident.Type
	maxField  int
}

func newEntryBuilder(n *ident.Normalizer, fixed ident.Type, maxField int) (*entryBuilder, error) {
	if n == nil {
		var err error
		if n, err = ident.New(ident.Config{}); err != nil {
			return nil, err
		}
	}
	return &entryBuilder{norm: n, fixedType: fixed, maxField: maxField}, nil
}

// parseText decodes the text fields of a file row. It returns the failing
// field name with the error; errors never include the field's value.
func (b *entryBuilder) parseText(r *rawRow) (typedRow, string, error) {
	for i, v := range r {
		if len(v) > b.maxField {
			return typedRow{}, slotField[i], ErrFieldTooLong
		}
	}
	cat, err := strconv.ParseUint(strings.TrimSpace(r[slotCategory]), 10, 8)
	if err != nil {
		return typedRow{}, FieldCategory, ErrCategory
	}
	reason, err := strconv.ParseUint(strings.TrimSpace(r[slotReason]), 10, 16)
	if err != nil {
		return typedRow{}, FieldReason, ErrReason
	}
	listed, err := catalog.ParseDate(strings.TrimSpace(r[slotListed]))
	if err != nil {
		return typedRow{}, FieldListed, ErrListed
	}
	return typedRow{
		id: r[slotID], typ: r[slotType],
		category: int64(cat), reason: int64(reason), listed: listed,
		ref: r[slotReference],
	}, "", nil
}

// build checks a typed row and normalises its identifier. skip is true for a
// valid row of another category, which is not an error.
func (b *entryBuilder) build(r typedRow, category uint8) (e catalogpsi.Entry, skip bool, field string, err error) {
	if r.category < 1 || r.category > 255 {
		return e, false, FieldCategory, ErrCategory
	}
	if uint8(r.category) != category {
		return e, true, "", nil
	}
	if r.reason < 0 || r.reason > 0xffff {
		return e, false, FieldReason, ErrReason
	}
	if len(r.ref) > len(e.Label.Reference) {
		return e, false, FieldReference, ErrReference
	}
	t := b.fixedType
	if t == "" {
		t = ident.Type(strings.ToLower(strings.TrimSpace(r.typ)))
		if t == "" {
			return e, false, FieldType, ErrType
		}
		if !knownType(t) {
			// The sentinel alone: ident's error would echo the column's
			// value, which a wrong mapping could make an identifier.
			return e, false, FieldType, ident.ErrUnknownType
		}
	}
	id, err := b.norm.Normalize(t, r.id)
	if err != nil {
		return e, false, FieldID, err
	}
	e.ID = id
	e.Label.Category = category
	e.Label.Reason = uint16(r.reason)
	e.Label.Listed = r.listed
	copy(e.Label.Reference[:], r.ref)
	if err := e.Label.Validate(); err != nil {
		return catalogpsi.Entry{}, false, FieldListed, ErrListed
	}
	return e, false, "", nil
}

func knownType(t ident.Type) bool {
	for _, k := range ident.Types {
		if k == t {
			return true
		}
	}
	return false
}
