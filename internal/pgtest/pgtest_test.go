package pgtest_test

import (
	"context"
	"testing"

	"github.com/riskmesh/riskmesh/internal/pgtest"
)

func TestStart(t *testing.T) {
	srv := pgtest.Start(t)
	conn := srv.Connect(t)
	var got int
	if err := conn.QueryRow(context.Background(), "SELECT 40 + 2").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != 42 {
		t.Fatalf("SELECT 40 + 2 = %d", got)
	}
	if srv.Port == 0 {
		t.Fatal("port 0")
	}
}
