package riskmeshv1

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

var update = flag.Bool("update", false, "rewrite testdata/wire.golden from the current descriptors")

const wireGolden = "testdata/wire.golden"

// TestWireContract compares every message field (number, name, type,
// cardinality, oneof), enum value, reserved number and RPC with
// testdata/wire.golden. Field numbers and enum values are the wire contract
// between nodes of different versions: a change here breaks peers already
// deployed. Adding something is fine (run go test -update and review the
// diff); renumbering, retyping or deleting without reserving is not.
func TestWireContract(t *testing.T) {
	var b strings.Builder
	for _, fd := range []protoreflect.FileDescriptor{File_riskmesh_v1_peer_proto, File_riskmesh_v1_node_proto, File_riskmesh_v1_audit_proto} {
		fmt.Fprintf(&b, "file %s\n", fd.Path())
		describeFile(&b, fd)
	}
	got := b.String()
	if *update {
		if err := os.MkdirAll(filepath.Dir(wireGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(wireGolden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(wireGolden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			g, w := line(gl, i), line(wl, i)
			if g != w {
				t.Fatalf("wire contract changed at line %d:\n got %q\nwant %q\n"+
					"field numbers and enum values must not change; reserve removed ones. "+
					"If this is an intended addition, run go test ./proto/riskmeshv1 -run TestWireContract -update",
					i+1, g, w)
			}
		}
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "<end>"
}

func describeFile(b *strings.Builder, fd protoreflect.FileDescriptor) {
	for i := 0; i < fd.Messages().Len(); i++ {
		describeMessage(b, fd.Messages().Get(i))
	}
	for i := 0; i < fd.Enums().Len(); i++ {
		describeEnum(b, fd.Enums().Get(i))
	}
	for i := 0; i < fd.Services().Len(); i++ {
		sd := fd.Services().Get(i)
		fmt.Fprintf(b, "service %s\n", sd.FullName())
		for j := 0; j < sd.Methods().Len(); j++ {
			md := sd.Methods().Get(j)
			fmt.Fprintf(b, "  rpc %s(%s%s) returns (%s%s)\n", md.Name(),
				stream(md.IsStreamingClient()), md.Input().FullName(),
				stream(md.IsStreamingServer()), md.Output().FullName())
		}
	}
}

func stream(s bool) string {
	if s {
		return "stream "
	}
	return ""
}

func describeMessage(b *strings.Builder, md protoreflect.MessageDescriptor) {
	if md.IsMapEntry() {
		return
	}
	fmt.Fprintf(b, "message %s\n", md.FullName())
	for i := 0; i < md.Fields().Len(); i++ {
		f := md.Fields().Get(i)
		typ := f.Kind().String()
		switch {
		case f.IsMap():
			typ = fmt.Sprintf("map<%s, %s>", f.MapKey().Kind(), f.MapValue().Kind())
		case f.Message() != nil:
			typ = string(f.Message().FullName())
		case f.Enum() != nil:
			typ = string(f.Enum().FullName())
		}
		card := ""
		switch {
		case f.IsList():
			card = "repeated "
		case f.HasOptionalKeyword():
			card = "optional "
		}
		oneof := ""
		if od := f.ContainingOneof(); od != nil && !od.IsSynthetic() {
			oneof = " oneof " + string(od.Name())
		}
		fmt.Fprintf(b, "  %d %s%s %s%s\n", f.Number(), card, typ, f.Name(), oneof)
	}
	for i := 0; i < md.ReservedRanges().Len(); i++ {
		r := md.ReservedRanges().Get(i) // [start, end)
		fmt.Fprintf(b, "  reserved %d to %d\n", r[0], r[1]-1)
	}
	describeReservedNames(b, md.ReservedNames())
	for i := 0; i < md.Enums().Len(); i++ {
		describeEnum(b, md.Enums().Get(i))
	}
	for i := 0; i < md.Messages().Len(); i++ {
		describeMessage(b, md.Messages().Get(i))
	}
}

func describeEnum(b *strings.Builder, ed protoreflect.EnumDescriptor) {
	fmt.Fprintf(b, "enum %s\n", ed.FullName())
	for i := 0; i < ed.Values().Len(); i++ {
		v := ed.Values().Get(i)
		fmt.Fprintf(b, "  %d %s\n", v.Number(), v.Name())
	}
	for i := 0; i < ed.ReservedRanges().Len(); i++ {
		r := ed.ReservedRanges().Get(i) // [start, end]
		fmt.Fprintf(b, "  reserved %d to %d\n", r[0], r[1])
	}
	describeReservedNames(b, ed.ReservedNames())
}

func describeReservedNames(b *strings.Builder, names protoreflect.Names) {
	for i := 0; i < names.Len(); i++ {
		fmt.Fprintf(b, "  reserved %q\n", names.Get(i))
	}
}
