package lists

import (
	"context"
	"fmt"
	"iter"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// Querier is the one method the PostgreSQL source needs; *pgx.Conn,
// *pgxpool.Pool and pgx.Tx all have it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// PostgresConfig configures a PostgreSQL source.
//
// Query must return, in this order: identifier (text), identifier type
// (text), category (any integer type), reason (any integer type), listed
// (date) and optionally a sixth column, the reference (text). Rows whose
// category is not the requested one are skipped, so a query that filters by
// category itself only saves transfer. NULL in a required column rejects the
// row; NULL reference means none.
type PostgresConfig struct {
	Query string // required
	Args  []any  // query arguments ($1, $2, ...); default none
	// MaxFieldBytes bounds the identifier, type and reference texts; a
	// longer one rejects the row. Default DefaultMaxFieldBytes.
	MaxFieldBytes int
	// Normalizer normalises identifiers. Default: ident's strict zero Config.
	Normalizer *ident.Normalizer
}

// Postgres streams a list from a PostgreSQL query, row by row (pgx reads
// the result incrementally, so memory does not grow with the result).
type Postgres struct {
	db   Querier
	cfg  PostgresConfig
	b    *entryBuilder
	maxF int
}

// NewPostgres validates cfg once and returns a source querying db.
func NewPostgres(db Querier, cfg PostgresConfig) (*Postgres, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil database", ErrConfig)
	}
	if strings.TrimSpace(cfg.Query) == "" {
		return nil, fmt.Errorf("%w: empty query", ErrConfig)
	}
	limits, err := Limits{MaxFieldBytes: cfg.MaxFieldBytes}.withDefaults()
	if err != nil {
		return nil, err
	}
	b, err := newEntryBuilder(cfg.Normalizer, "", limits.MaxFieldBytes)
	if err != nil {
		return nil, err
	}
	return &Postgres{db: db, cfg: cfg, b: b, maxF: limits.MaxFieldBytes}, nil
}

// Entries runs the query and streams the rows of category; see Source.
// Breaking out of the loop closes the result and frees the connection.
func (p *Postgres) Entries(ctx context.Context, category uint8) iter.Seq2[catalogpsi.Entry, error] {
	return func(yield func(catalogpsi.Entry, error) bool) {
		if category == 0 {
			yield(catalogpsi.Entry{}, ErrCategory)
			return
		}
		rows, err := p.db.Query(ctx, p.cfg.Query, p.cfg.Args...)
		if err != nil {
			yield(catalogpsi.Entry{}, fmt.Errorf("lists: query: %w", err))
			return
		}
		defer rows.Close()
		ncols := len(rows.FieldDescriptions())
		if ncols != 5 && ncols != 6 {
			yield(catalogpsi.Entry{}, fmt.Errorf("%w: %d columns, want 5 or 6", ErrColumns, ncols))
			return
		}
		var (
			id, typ, ref    pgtype.Text
			category64, rsn pgtype.Int8
			listed          pgtype.Date
			row             int64
			dest            = []any{&id, &typ, &category64, &rsn, &listed, &ref}[:ncols]
		)
		for rows.Next() {
			row++
			ref = pgtype.Text{}
			if err := rows.Scan(dest...); err != nil {
				// pgx's scan errors can quote values; name the contract only.
				yield(catalogpsi.Entry{}, fmt.Errorf("%w: row %d: column types", ErrColumns, row))
				return
			}
			tr, field, rerr := p.typed(id, typ, category64, rsn, listed, ref)
			if rerr != nil {
				if !yield(catalogpsi.Entry{}, &RowError{Row: row, Field: field, Err: rerr}) {
					return
				}
				continue
			}
			e, skip, field, rerr := p.b.build(tr, category)
			switch {
			case skip:
				continue
			case rerr != nil:
				if !yield(catalogpsi.Entry{}, &RowError{Row: row, Field: field, Err: rerr}) {
					return
				}
				continue
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(catalogpsi.Entry{}, fmt.Errorf("lists: query rows: %w", err))
		}
	}
}

// typed checks the SQL values for NULLs and sizes before the shared checks.
func (p *Postgres) typed(id, typ pgtype.Text, cat, rsn pgtype.Int8, listed pgtype.Date, ref pgtype.Text) (typedRow, string, error) {
	switch {
	case !id.Valid:
		return typedRow{}, FieldID, ErrMissing
	case !typ.Valid:
		return typedRow{}, FieldType, ErrType
	case !cat.Valid:
		return typedRow{}, FieldCategory, ErrCategory
	case !rsn.Valid:
		return typedRow{}, FieldReason, ErrReason
	case !listed.Valid || listed.InfinityModifier != pgtype.Finite:
		return typedRow{}, FieldListed, ErrListed
	case len(id.String) > p.maxF:
		return typedRow{}, FieldID, ErrFieldTooLong
	case len(typ.String) > p.maxF:
		return typedRow{}, FieldType, ErrFieldTooLong
	case len(ref.String) > p.maxF:
		return typedRow{}, FieldReference, ErrFieldTooLong
	}
	d, err := catalog.DateOf(listed.Time)
	if err != nil {
		return typedRow{}, FieldListed, ErrListed
	}
	return typedRow{id: id.String, typ: typ.String, category: cat.Int64, reason: rsn.Int64, listed: d, ref: ref.String}, "", nil
}
