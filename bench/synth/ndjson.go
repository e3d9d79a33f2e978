package synth

import (
	"bufio"
	"io"
	"strconv"
)

// WriteNDJSON writes l as newline-delimited JSON, one object per entry with
// the Column names as keys (category and reason as numbers); node/lists
// reads it with NewNDJSON and Mapping(). Identifiers appear in raw forms as
// with WriteCSV.
func WriteNDJSON(w io.Writer, l List) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var b []byte
	for i := range l.Entries {
		r := rowOf(&l.Entries[i], i)
		b = append(b[:0], `{"`+ColumnID+`":`...)
		b = appendJSONString(b, r.raw)
		b = append(b, `,"`+ColumnType+`":`...)
		b = appendJSONString(b, r.typ)
		b = append(b, `,"`+ColumnCategory+`":`...)
		b = strconv.AppendUint(b, uint64(r.category), 10)
		b = append(b, `,"`+ColumnReason+`":`...)
		b = strconv.AppendUint(b, uint64(r.reason), 10)
		b = append(b, `,"`+ColumnListed+`":"`...)
		b = appendDate(b, r.listed)
		b = append(b, `","`+ColumnReference+`":`...)
		b = appendJSONString(b, r.reference)
		b = append(b, "}\n"...)
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// appendJSONString appends s as a JSON string (RFC 8259): quotes,
// backslashes and control characters escaped, other bytes as they are.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
