package daemon

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/riskmesh/riskmesh/node/lists"
)

// pgQuerier connects to PostgreSQL for each query and disconnects when its
// rows are closed. A list refresh is one query every few minutes or hours,
// so a connection per refresh costs nothing, holds no idle connection, and
// a database that is down fails that refresh rather than the node's start.
type pgQuerier struct{ dsn string }

var _ lists.Querier = pgQuerier{}

func (q pgQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	conn, err := pgx.Connect(ctx, q.dsn)
	if err != nil {
		return nil, fmt.Errorf("connect to list database: %w", err)
	}
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return connRows{Rows: rows, conn: conn}, nil
}

// connRows closes its connection with the rows.
type connRows struct {
	pgx.Rows
	conn *pgx.Conn
}

func (r connRows) Close() {
	r.Rows.Close()
	r.conn.Close(context.Background())
}
