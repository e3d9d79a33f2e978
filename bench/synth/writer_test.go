package synth

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/internal/pgtest"
	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/psi/catalogpsi"
)

// writerList is a list whose identifiers cover every type and raw form.
func writerList(t *testing.T) List {
	t.Helper()
	c := generate(t, Config{Seed: 3, Entries: 5000, Institutions: []Institution{{MSPID: "Bank1MSP"}}})
	return c.Lists[0]
}

// opener serves the same bytes on every open, as a file would.
func opener(b []byte) lists.Opener {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// checkReadBack drains every category from src and compares with l's
// entries of that category, in list order.
func checkReadBack(t *testing.T, src lists.Source, l List) {
	t.Helper()
	total := 0
	for _, cat := range Categories {
		var want []catalogpsi.Entry
		for _, e := range l.Entries {
			if Category(e.Label.Category) == cat {
				want = append(want, e)
			}
		}
		var got []catalogpsi.Entry
		rep, err := lists.Drain(src.Entries(context.Background(), uint8(cat)), func(e catalogpsi.Entry) error {
			got = append(got, e)
			return nil
		})
		if err != nil {
			t.Fatalf("%v: %v", cat, err)
		}
		if rep.Rejected != 0 {
			t.Fatalf("%v: %d rows rejected, first: %v", cat, rep.Rejected, rep.Errors[0])
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%v: read back %d entries that differ from the %d written", cat, len(got), len(want))
		}
		total += len(got)
	}
	if total != len(l.Entries) {
		t.Errorf("read back %d entries, wrote %d", total, len(l.Entries))
	}
}

func TestWriteCSV(t *testing.T) {
	l := writerList(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, l); err != nil {
		t.Fatal(err)
	}
	if header, _, _ := strings.Cut(buf.String(), "\n"); header != "id,type,category,reason,listed,reference" {
		t.Errorf("header %q", header)
	}
	if !strings.Contains(buf.String(), `" `) {
		t.Error("no raw form with spaces: identifiers are all canonical")
	}
	src, err := lists.NewDelimited(opener(buf.Bytes()), lists.DelimitedConfig{Mapping: Mapping()})
	if err != nil {
		t.Fatal(err)
	}
	checkReadBack(t, src, l)
}

func TestWriteNDJSON(t *testing.T) {
	l := writerList(t)
	var buf bytes.Buffer
	if err := WriteNDJSON(&buf, l); err != nil {
		t.Fatal(err)
	}
	src, err := lists.NewNDJSON(opener(buf.Bytes()), lists.NDJSONConfig{Mapping: Mapping()})
	if err != nil {
		t.Fatal(err)
	}
	checkReadBack(t, src, l)
}

func TestAppendJSONString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"tab\there\x01", `"tab\u0009here\u0001"`},
	} {
		if got := string(appendJSONString(nil, c.in)); got != c.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// errWriter fails every write, to check that errors come back.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestWriteErrors(t *testing.T) {
	l := writerList(t)
	if err := WriteCSV(errWriter{}, l); err == nil {
		t.Error("WriteCSV to a failing writer returned nil")
	}
	if err := WriteNDJSON(errWriter{}, l); err == nil {
		t.Error("WriteNDJSON to a failing writer returned nil")
	}
}

func TestLoadPostgres(t *testing.T) {
	conn := pgtest.Start(t).Connect(t)
	ctx := context.Background()
	l := writerList(t)
	const table = "Risk List" // needs quoting
	if err := LoadPostgres(ctx, conn, table, l); err != nil {
		t.Fatal(err)
	}
	// The table keeps insertion order only by chance; order by reference,
	// which follows list order.
	src, err := lists.NewPostgres(conn, lists.PostgresConfig{Query: PostgresQuery(table) + " ORDER BY " + ColumnReference + ` COLLATE "C"`})
	if err != nil {
		t.Fatal(err)
	}
	checkReadBack(t, src, l)

	if err := LoadPostgres(ctx, conn, table, l); err == nil {
		t.Error("loading into an existing table succeeded")
	}
}
