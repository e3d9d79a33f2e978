package synth

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// DB is what LoadPostgres needs; *pgx.Conn, *pgxpool.Pool and pgx.Tx have
// both methods.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// LoadPostgres creates table (which must not exist) and loads l into it
// with COPY FROM, identifiers in raw forms as with WriteCSV. The columns are
// the Column names, typed text, text, smallint, integer, date and text;
// PostgresQuery(table) is the query node/lists' PostgreSQL source takes.
func LoadPostgres(ctx context.Context, db DB, table string, l List) error {
	name := pgx.Identifier{table}
	ddl := fmt.Sprintf(`CREATE TABLE %s (%s text NOT NULL, %s text NOT NULL, %s smallint NOT NULL, `+
		`%s integer NOT NULL, %s date NOT NULL, %s text)`, name.Sanitize(),
		ColumnID, ColumnType, ColumnCategory, ColumnReason, ColumnListed, ColumnReference)
	if _, err := db.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("synth: create table: %w", err)
	}
	i := 0
	vals := make([]any, len(columns))
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(l.Entries) {
			return nil, nil
		}
		r := rowOf(&l.Entries[i], i)
		i++
		vals[0], vals[1] = r.raw, r.typ
		vals[2], vals[3] = int16(r.category), int32(r.reason)
		vals[4] = pgtype.Date{Time: r.listed.Time(), Valid: true}
		vals[5] = r.reference
		return vals, nil
	})
	n, err := db.CopyFrom(ctx, name, columns, src)
	if err != nil {
		return fmt.Errorf("synth: copy into table: %w", err)
	}
	if n != int64(len(l.Entries)) {
		return fmt.Errorf("synth: copied %d of %d rows", n, len(l.Entries))
	}
	return nil
}

// PostgresQuery returns the query for node/lists.PostgresConfig that reads
// a table LoadPostgres filled, its columns in the order the source expects.
func PostgresQuery(table string) string {
	return fmt.Sprintf("SELECT %s, %s, %s, %s, %s, %s FROM %s",
		ColumnID, ColumnType, ColumnCategory, ColumnReason, ColumnListed, ColumnReference,
		pgx.Identifier{table}.Sanitize())
}
