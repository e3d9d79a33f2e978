package lists

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// DelimitedConfig configures a CSV or TSV source. The first record is the
// header; Mapping names header columns.
type DelimitedConfig struct {
	// Comma is the field separator. Default ','; use '\t' for TSV.
	Comma   rune
	Mapping Mapping
	Limits  Limits
	// Normalizer normalises identifiers. Default: ident's strict zero Config.
	Normalizer *ident.Normalizer
}

// Delimited reads a CSV or TSV list (RFC 4180 quoting, any separator).
type Delimited struct {
	fileSource
	comma rune
}

// NewDelimited validates cfg once and returns a source reading from open.
func NewDelimited(open Opener, cfg DelimitedConfig) (*Delimited, error) {
	cfg.Comma = cmp.Or(cfg.Comma, ',')
	if cfg.Comma == '"' || cfg.Comma == '\r' || cfg.Comma == '\n' || cfg.Comma == 0xFFFD {
		return nil, fmt.Errorf("%w: invalid separator", ErrConfig)
	}
	fs, err := newFileSource(open, cfg.Mapping, cfg.Limits, cfg.Normalizer)
	if err != nil {
		return nil, err
	}
	return &Delimited{fileSource: fs, comma: cfg.Comma}, nil
}

// Entries streams the rows of category; see Source.
func (d *Delimited) Entries(ctx context.Context, category uint8) iter.Seq2[catalogpsi.Entry, error] {
	return d.entries(ctx, category, d.read)
}

func (d *Delimited) read(ctx context.Context, f io.Reader, category uint8, yield func(catalogpsi.Entry, error) bool) {
	lim := &recordLimiter{r: skipBOM(f), max: d.limits.MaxRecordBytes, start: 1}
	cr := csv.NewReader(lim)
	cr.Comma = d.comma
	cr.ReuseRecord = true

	formatErr := func(err error) error {
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			return newFormatError(int64(pe.StartLine), int64(pe.Line), pe.Err)
		case errors.Is(err, ErrRecordTooLong):
			return newFormatError(lim.start, lim.line+1, ErrRecordTooLong)
		}
		return fmt.Errorf("lists: read: %w", err)
	}

	header, err := cr.Read()
	if err == io.EOF {
		yield(catalogpsi.Entry{}, &FormatError{Line: 1, Err: ErrNoHeader})
		return
	}
	if err != nil {
		yield(catalogpsi.Entry{}, formatErr(err))
		return
	}
	cols, err := columnIndex(header, d.m.names())
	if err != nil {
		yield(catalogpsi.Entry{}, &FormatError{Line: 1, Err: err})
		return
	}

	var raw rawRow
	for {
		if err := ctx.Err(); err != nil {
			yield(catalogpsi.Entry{}, err)
			return
		}
		rec, err := cr.Read()
		if err == io.EOF {
			return
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				if !yield(catalogpsi.Entry{}, &RowError{Row: int64(pe.StartLine), Err: ErrFieldCount}) {
					return
				}
				continue
			}
			yield(catalogpsi.Entry{}, formatErr(err))
			return
		}
		line, _ := cr.FieldPos(0)
		for i, c := range cols {
			raw[i] = ""
			if c >= 0 {
				raw[i] = rec[c]
			}
		}
		if !d.b.emit(&raw, int64(line), category, yield) {
			return
		}
	}
}

// newFormatError reports err in the record starting on line start, found
// on line found.
func newFormatError(start, found int64, err error) *FormatError {
	fe := &FormatError{Line: max(start, 1), Err: err}
	if found > fe.Line {
		fe.Found = found
	}
	return fe
}

// emit parses a text row and yields its entry or row error; it reports
// whether the consumer wants more.
func (b *entryBuilder) emit(raw *rawRow, row int64, category uint8, yield func(catalogpsi.Entry, error) bool) bool {
	tr, field, err := b.parseText(raw)
	if err != nil {
		return yield(catalogpsi.Entry{}, &RowError{Row: row, Field: field, Err: err})
	}
	e, skip, field, err := b.build(tr, category)
	switch {
	case skip:
		return true
	case err != nil:
		return yield(catalogpsi.Entry{}, &RowError{Row: row, Field: field, Err: err})
	}
	return yield(e, nil)
}

// columnIndex maps each non-empty name to its column in header, -1 for an
// unmapped optional name.
func columnIndex(header []string, names [numSlots]string) ([numSlots]int, error) {
	var idx [numSlots]int
	for i, name := range names {
		idx[i] = -1
		if name == "" {
			continue
		}
		for c, h := range header {
			if h != name {
				continue
			}
			if idx[i] >= 0 {
				return idx, fmt.Errorf("%w: %q", ErrDuplicateField, name)
			}
			idx[i] = c
		}
		if idx[i] < 0 {
			return idx, fmt.Errorf("%w: %q", ErrMissingColumn, name)
		}
	}
	return idx, nil
}

// skipBOM drops a leading UTF-8 byte order mark, which spreadsheet exports
// write and which would otherwise become part of the first header name.
func skipBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\xef\xbb\xbf" {
		_, _ = br.Discard(3)
	}
	return br
}

// recordLimiter fails the read once a record grows past max bytes. It
// tracks RFC 4180 quoting (every '"' toggles; an escaped "" toggles twice) so
// that only a line break outside quotes ends a record: encoding/csv itself
// buffers a whole record however long it is, so the bound has to sit under
// it. On input whose quoting is broken the count only resets later, which
// makes the bound stricter, never looser.
type recordLimiter struct {
	r       io.Reader
	max     int
	n       int   // bytes in the current record
	inQuote bool  // inside a quoted field
	line    int64 // line breaks seen so far
	start   int64 // the line the current record starts on
	err     error
}

func (l *recordLimiter) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i, c := range p[:n] {
		switch {
		case c == '"':
			l.inQuote = !l.inQuote
		case c == '\n':
			l.line++
			if !l.inQuote {
				l.n, l.start = 0, l.line+1
				continue
			}
		}
		l.n++
		if l.n > l.max {
			l.err = ErrRecordTooLong
			return i, l.err
		}
	}
	return n, err
}
