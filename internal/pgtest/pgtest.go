// Package pgtest starts a throw-away PostgreSQL server for tests: the
// Debian package's initdb and pg_ctl (/usr/lib/postgresql/<version>/bin) in a
// test's temporary directory, on a free loopback port, with trust
// authentication and fsync off, stopped by t.Cleanup.
//
// When the binaries are missing the test is skipped, except under CI=true
// (the CI image installs the postgresql package), where it fails: a CI run
// must never pass by skipping the database tests.
//
// PostgreSQL refuses to run as root, so when the test runs as root the
// server runs as the postgres system user (runuser), which the package
// creates. Not for production use: nothing here is durable or secured.
package pgtest

import (
	"context"
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
)

// binGlob finds pg_ctl of every installed server version.
const binGlob = "/usr/lib/postgresql/*/bin/pg_ctl"

// Server is a running throw-away PostgreSQL server.
type Server struct {
	// URL is a libpq connection URL for the superuser "postgres" and the
	// "postgres" database over TCP on 127.0.0.1 (no password, no TLS).
	URL string
	// Port is the server's TCP port on 127.0.0.1.
	Port int
}

// Start runs a new server for t and stops it (immediate shutdown) when t
// and its subtests end. It skips t when PostgreSQL is not installed, unless
// the environment has CI=true.
func Start(t testing.TB) *Server {
	t.Helper()
	bins, _ := filepath.Glob(binGlob)
	if len(bins) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("pgtest: PostgreSQL binaries missing under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)")
		}
		t.Skip("pgtest: PostgreSQL binaries missing under /usr/lib/postgresql/*/bin; install the postgresql package (CI=true makes this fatal)")
	}
	// The glob sorts lexically, which is numeric order for the two-digit
	// major versions (10 and later): the last is the newest installed.
	bin := filepath.Dir(bins[len(bins)-1])
	dir := t.TempDir()
	asServerUser(t, dir)

	port := freePort(t)
	data := filepath.Join(dir, "data")
	run(t, bin, "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
	run(t, bin, "pg_ctl", "-D", data, "-w", "-l", filepath.Join(dir, "log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, dir), "start")
	t.Cleanup(func() { run(t, bin, "pg_ctl", "-D", data, "-w", "-m", "immediate", "stop") })
	return &Server{
		URL:  fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port),
		Port: port,
	}
}

// Connect opens a connection to s, closed when t ends.
func (s *Server) Connect(t testing.TB) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.URL)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// asServerUser makes dir usable by the postgres user when running as root:
// t.TempDir's parent is 0700 root, so the server user could not traverse it.
func asServerUser(t testing.TB, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	pg, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("pgtest: running as root and no postgres user: %v", err)
	}
	uid, err := strconv.Atoi(pg.Uid)
	if err != nil {
		t.Fatalf("pgtest: postgres uid %q: %v", pg.Uid, err)
	}
	gid, err := strconv.Atoi(pg.Gid)
	if err != nil {
		t.Fatalf("pgtest: postgres gid %q: %v", pg.Gid, err)
	}
	if err := os.Chmod(filepath.Dir(dir), 0o711); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// run runs one of the server's programs, as the postgres user when root.
func run(t testing.TB, bin, name string, args ...string) {
	t.Helper()
	prog := filepath.Join(bin, name)
	cmd := exec.Command(prog, args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", prog}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pgtest: %s: %v\n%s", name, err, out)
	}
}

// freePort asks the kernel for a free loopback TCP port. Another process
// could take it before the server binds it; pg_ctl start then fails loudly.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
