package lists

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"

	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// Source produces the entries of one list category.
//
// Entries returns a stream rather than a slice because lists can hold tens
// of millions of rows, and a pull-style iter.Seq2 rather than a callback so
// that the consumer owns the loop: breaking out of it closes the file or the
// database cursor, and the source needs no error channel. Each pair is
// either (entry, nil), or (zero, err) where err is a *RowError (that row was
// skipped; iteration continues) or any other error (the last pair: the
// source failed, for example a *FormatError or a context error). Every call
// starts a fresh read, which is how a refresh works.
type Source interface {
	Entries(ctx context.Context, category uint8) iter.Seq2[catalogpsi.Entry, error]
}

var (
	_ Source = (*Delimited)(nil)
	_ Source = (*NDJSON)(nil)
	_ Source = (*Postgres)(nil)
)

// Opener opens a list file anew for every read, so that a refresh sees the
// file's current contents.
type Opener func() (io.ReadCloser, error)

// File returns an Opener for the file at path.
func File(path string) Opener {
	return func() (io.ReadCloser, error) { return os.Open(path) }
}

// fileSource is what the file formats share: the opener, the mapping, the
// limits and the entry builder, checked once at construction, and Entries'
// opening of the file, which each format's read then parses.
type fileSource struct {
	open   Opener
	m      Mapping
	limits Limits
	b      *entryBuilder
}

func newFileSource(open Opener, m Mapping, limits Limits, n *ident.Normalizer) (fileSource, error) {
	if open == nil {
		return fileSource{}, fmt.Errorf("%w: nil opener", ErrConfig)
	}
	if err := m.validate(); err != nil {
		return fileSource{}, err
	}
	limits, err := limits.withDefaults()
	if err != nil {
		return fileSource{}, err
	}
	b, err := newEntryBuilder(n, m.FixedType, limits.MaxFieldBytes)
	if err != nil {
		return fileSource{}, err
	}
	return fileSource{open: open, m: m, limits: limits, b: b}, nil
}

// entries opens the file and streams what read yields from it, for
// category; see Source.
func (s *fileSource) entries(ctx context.Context, category uint8,
	read func(ctx context.Context, f io.Reader, category uint8, yield func(catalogpsi.Entry, error) bool)) iter.Seq2[catalogpsi.Entry, error] {
	return func(yield func(catalogpsi.Entry, error) bool) {
		if category == 0 {
			yield(catalogpsi.Entry{}, ErrCategory)
			return
		}
		f, err := s.open()
		if err != nil {
			yield(catalogpsi.Entry{}, fmt.Errorf("lists: open: %w", err))
			return
		}
		defer f.Close()
		read(ctx, f, category, yield)
	}
}

// MaxReportedErrors bounds Report.Errors, so that a file in which every
// row is wrong cannot make the report grow with the file.
const MaxReportedErrors = 100

// Report summarises one drained stream.
type Report struct {
	Entries  int64       // entries passed to the callback
	Rejected int64       // rows skipped with a *RowError
	Errors   []*RowError // the first MaxReportedErrors of them, in order
}

// Drain runs seq to the end, calling fn for each entry and collecting row
// errors into the Report. It stops at the first error that is not a
// *RowError, or the first error fn returns, and returns it with the report
// so far.
func Drain(seq iter.Seq2[catalogpsi.Entry, error], fn func(catalogpsi.Entry) error) (Report, error) {
	var rep Report
	for e, err := range seq {
		if err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				return rep, err
			}
			rep.Rejected++
			if len(rep.Errors) < MaxReportedErrors {
				rep.Errors = append(rep.Errors, re)
			}
			continue
		}
		if err := fn(e); err != nil {
			return rep, err
		}
		rep.Entries++
	}
	return rep, nil
}
