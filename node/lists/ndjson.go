package lists

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// NDJSONConfig configures an NDJSON source: one JSON object per line, with
// Mapping naming object keys. Blank lines are skipped.
type NDJSONConfig struct {
	Mapping Mapping
	Limits  Limits
	// Normalizer normalises identifiers. Default: ident's strict zero Config.
	Normalizer *ident.Normalizer
}

// NDJSON reads a newline-delimited JSON list.
type NDJSON struct{ fileSource }

// NewNDJSON validates cfg once and returns a source reading from open.
func NewNDJSON(open Opener, cfg NDJSONConfig) (*NDJSON, error) {
	fs, err := newFileSource(open, cfg.Mapping, cfg.Limits, cfg.Normalizer)
	if err != nil {
		return nil, err
	}
	return &NDJSON{fs}, nil
}

// Entries streams the lines of category; see Source.
func (s *NDJSON) Entries(ctx context.Context, category uint8) iter.Seq2[catalogpsi.Entry, error] {
	return s.entries(ctx, category, s.read)
}

func (s *NDJSON) read(ctx context.Context, f io.Reader, category uint8, yield func(catalogpsi.Entry, error) bool) {
	// The buffer holds one whole line plus its line break, so ReadSlice
	// reports a longer line as ErrBufferFull before anything grows.
	br := bufio.NewReaderSize(skipBOM(f), s.limits.MaxRecordBytes+2)
	names := s.m.names()
	var (
		raw  rawRow
		obj  map[string]json.RawMessage
		line int64
	)
	for {
		if err := ctx.Err(); err != nil {
			yield(catalogpsi.Entry{}, err)
			return
		}
		b, err := br.ReadSlice('\n')
		line++
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			yield(catalogpsi.Entry{}, &FormatError{Line: line, Err: ErrRecordTooLong})
			return
		case err != nil && err != io.EOF:
			yield(catalogpsi.Entry{}, fmt.Errorf("lists: read: %w", err))
			return
		}
		eof := err == io.EOF
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		if len(b) > s.limits.MaxRecordBytes {
			yield(catalogpsi.Entry{}, &FormatError{Line: line, Err: ErrRecordTooLong})
			return
		}
		if len(bytes.TrimSpace(b)) > 0 {
			clear(obj)
			// json's own messages quote input bytes; report the sentinel only.
			if json.Unmarshal(b, &obj) != nil || obj == nil {
				yield(catalogpsi.Entry{}, &FormatError{Line: line, Err: ErrSyntax})
				return
			}
			field, ferr := jsonFields(obj, names, &raw)
			if ferr != nil {
				if !yield(catalogpsi.Entry{}, &RowError{Row: line, Field: field, Err: ferr}) {
					return
				}
			} else if !s.b.emit(&raw, line, category, yield) {
				return
			}
		}
		if eof {
			return
		}
	}
}

// jsonFields copies the mapped values of obj into raw as text: a string's
// contents, a number's literal, "" for an absent key or null.
func jsonFields(obj map[string]json.RawMessage, names [numSlots]string, raw *rawRow) (string, error) {
	for i, name := range names {
		raw[i] = ""
		if name == "" {
			continue
		}
		v, ok := obj[name]
		if !ok || len(v) == 0 {
			continue
		}
		switch c := v[0]; {
		case c == '"':
			if err := json.Unmarshal(v, &raw[i]); err != nil {
				return slotField[i], ErrFieldType
			}
		case c == '-' || (c >= '0' && c <= '9'):
			raw[i] = string(v)
		case c == 'n': // null; anything else starting with 'n' failed Unmarshal
		default:
			return slotField[i], ErrFieldType
		}
	}
	return "", nil
}
