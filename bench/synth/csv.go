package synth

import (
	"bufio"
	"encoding/csv"
	"io"
	"strconv"
)

// WriteCSV writes l as CSV (RFC 4180) with a header row of the Column
// names; node/lists reads it with NewDelimited and Mapping(). Identifiers
// appear in the raw forms a data store holds (separators, case, spaces),
// varying by row.
func WriteCSV(w io.Writer, l List) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := csv.NewWriter(bw)
	if err := cw.Write(columns); err != nil {
		return err
	}
	rec := make([]string, len(columns))
	var date []byte
	for i := range l.Entries {
		r := rowOf(&l.Entries[i], i)
		date = appendDate(date[:0], r.listed)
		rec[0], rec[1] = r.raw, r.typ
		rec[2] = strconv.Itoa(int(r.category))
		rec[3] = strconv.Itoa(int(r.reason))
		rec[4] = string(date)
		rec[5] = r.reference
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}
