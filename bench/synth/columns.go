package synth

import (
	"strconv"

	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
)

// Column names of the files and the table the writers produce, in order.
const (
	ColumnID        = "id"
	ColumnType      = "type"
	ColumnCategory  = "category"
	ColumnReason    = "reason"
	ColumnListed    = "listed"
	ColumnReference = "reference"
)

var columns = []string{ColumnID, ColumnType, ColumnCategory, ColumnReason, ColumnListed, ColumnReference}

// Mapping returns the node/lists mapping for the files WriteCSV and
// WriteNDJSON write: pass it as DelimitedConfig.Mapping or
// NDJSONConfig.Mapping.
func Mapping() lists.Mapping {
	return lists.Mapping{
		ID:        ColumnID,
		Type:      ColumnType,
		Category:  ColumnCategory,
		Reason:    ColumnReason,
		Listed:    ColumnListed,
		Reference: ColumnReference,
	}
}

// row is one entry's fields as the writers write them.
type row struct {
	raw, typ  string
	category  uint8
	reason    uint16
	listed    catalog.Date
	reference string
}

// rowOf returns entry i of a list as written: the identifier in one of its
// raw forms (chosen by the row index, so files are reproducible) and the
// reference without its zero padding.
func rowOf(e *catalogpsi.Entry, i int) row {
	ref := e.Label.Reference[:]
	for len(ref) > 0 && ref[len(ref)-1] == 0 {
		ref = ref[:len(ref)-1]
	}
	return row{
		raw:       rawForm(e.ID, mix(uint64(i))),
		typ:       string(e.ID.Type),
		category:  e.Label.Category,
		reason:    e.Label.Reason,
		listed:    e.Label.Listed,
		reference: string(ref),
	}
}

// mix scatters row indices (SplitMix64's finaliser), so consecutive rows get
// unrelated raw forms.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// appendDate appends d as YYYY-MM-DD.
func appendDate(b []byte, d catalog.Date) []byte {
	y, m, day := d.Time().Date()
	b = strconv.AppendInt(b, int64(y), 10) // 1970..9999: always four digits
	b = append(b, '-')
	b = appendTwo(b, int(m))
	b = append(b, '-')
	return appendTwo(b, day)
}
