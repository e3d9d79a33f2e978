package lists

import (
	"context"
	"errors"
	"testing"

	"github.com/riskmesh/riskmesh/internal/pgtest"
	"github.com/riskmesh/riskmesh/psi/ident"
)

func TestPostgres(t *testing.T) {
	conn := pgtest.Start(t).Connect(t)
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE risk (ident text, kind text, cat smallint, reason int, listed date, ref text)`,
		`INSERT INTO risk VALUES
			('+86 138-0013-8000', 'phone', 1, 7, '2024-03-01', 'CASE-1'),
			('alice@example.com', 'email', 2, 1, '2024-03-02', NULL),
			('4111111111111112', 'card', 1, 1, '2024-03-03', NULL),
			(NULL, 'card', 1, 1, '2024-03-03', NULL),
			('AbC-123', 'device', 1, 3, '2024-03-05', NULL)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	src, err := NewPostgres(conn, PostgresConfig{Query: `SELECT ident, kind, cat, reason, listed, ref FROM risk ORDER BY listed, ident NULLS LAST`})
	if err != nil {
		t.Fatal(err)
	}
	got, rep, err := drain(t, src, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, got, rep, []string{"phone:+8613800138000", "device:AbC-123"}, []int64{3, 4}, []error{ident.ErrChecksum, ErrMissing})
	if string(got[0].Label.Reference[:6]) != "CASE-1" || got[0].Label.Listed.String() != "2024-03-01" {
		t.Errorf("label = %+v", got[0].Label)
	}

	t.Run("wrong column count", func(t *testing.T) {
		src, err := NewPostgres(conn, PostgresConfig{Query: `SELECT ident FROM risk`})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := drain(t, src, 1); !errors.Is(err, ErrColumns) {
			t.Fatal("want ErrColumns")
		}
	})
}
