package lists

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// startPostgres runs a throwaway PostgreSQL server from the Debian package's
// binaries in a temporary directory and returns a connection to it.
func startPostgres(t *testing.T) *pgx.Conn {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(bins) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("PostgreSQL binaries missing under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)")
		}
		t.Skip("PostgreSQL binaries missing under /usr/lib/postgresql/*/bin; install the postgresql package (CI=true makes this fatal)")
	}
	bin := filepath.Dir(bins[len(bins)-1])
	dir := t.TempDir()
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, name), args...)
		if os.Geteuid() == 0 { // postgres refuses to run as root
			cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root and no postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		// t.TempDir's parent is 0700 root; the server user must traverse it.
		if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	data := filepath.Join(dir, "data")
	run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	run("pg_ctl", "-D", data, "-w", "-l", filepath.Join(dir, "log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir), "start")
	t.Cleanup(func() { run("pg_ctl", "-D", data, "-w", "-m", "immediate", "stop") })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestPostgres(t *testing.T) {
	conn := startPostgres(t)
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
