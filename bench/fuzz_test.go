package bench

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// sampleRows are rows as a run writes them, including a skipped one.
func sampleRows() []Row {
	m := Machine{CPU: "AMD EPYC, rev 2", NumCPU: 2, GOMAXPROCS: 2, GoVersion: "go1.26.8", Commit: "abc123-dirty",
		Date: "2026-11-29T21:00:00Z", Load: "1.5 2.0 2.5"}
	return []Row{
		{Sweep: SweepBatch, Protocol: ProtocolCatalog, Transport: TransportQUICNode, Providers: 1, List: 100000,
			Batch: 1000, Phase: PhaseQuery, Items: 1000, Seconds: 0.1234567891, CPUSeconds: 0.2, Hits: 500, WantHits: 500,
			BytesUp: 36_100, BytesDown: 32_300, OtherLoad: 1.2345, Loaded: true, Machine: m},
		{Sweep: SweepList, Protocol: ProtocolECDH, Transport: TransportInProcess, Providers: 1, List: 1000000,
			Batch: 1000, Phase: PhaseSkipped, Note: "list above the ECDH cap of 100000", Machine: m},
	}
}

// Reading back what WriteCSV wrote gives the same rows.
func TestCSVRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, sampleRows()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sampleRows()) {
		t.Fatalf("read back %+v\nwant %+v", got, sampleRows())
	}
}

func TestReadCSVRejects(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, sampleRows()[:1]); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	tests := []struct{ name, csv string }{
		{"empty", ""},
		{"other header", strings.Replace(good, "items_per_s", "rate", 1)},
		{"missing column", strings.Replace(good, ",1000,", ",", 1)},
		{"negative count", strings.Replace(good, ",500,500,", ",-500,500,", 1)},
		{"rate disagrees with seconds", strings.Replace(good, ",8100,", ",9100,", 1)},
		{"not a number", strings.Replace(good, "0.1234567891", "fast", 1)},
		{"oversized field", strings.Replace(good, "abc123-dirty", strings.Repeat("x", maxField+1), 1)},
		{"loaded not a boolean", strings.Replace(good, ",1.2345,true", ",1.2345,yes", 1)},
		{"negative load", strings.Replace(good, ",1.2345,true", ",-1.2345,true", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.csv == good {
				t.Fatal("the case does not change the input")
			}
			if _, err := ReadCSV(strings.NewReader(tt.csv)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// FuzzReadCSV: any input parses or is refused without a panic, and what
// parses writes back to a file that parses to the same rows.
func FuzzReadCSV(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, sampleRows()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(strings.Join(Columns, ",") + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ReadCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := WriteCSV(&out, rows); err != nil {
			t.Fatal(err)
		}
		again, err := ReadCSV(&out)
		if err != nil {
			t.Fatalf("rewritten CSV does not parse: %v", err)
		}
		if !reflect.DeepEqual(rows, again) {
			t.Fatalf("round trip changed the rows")
		}
	})
}

func TestParseMatchOutput(t *testing.T) {
	d := matchDigest([][]byte{[]byte("b"), []byte("a")})
	good := fmt.Sprintf("%s\n0,0.25,0.4,2,%x\n1,0.5,0.9,2,%x\n", matchHeader, d, d)
	runs, err := parseMatchOutput(strings.NewReader(good))
	if err != nil || len(runs) != 2 || runs[1].seconds != 0.5 || runs[1].cpu != 0.9 || runs[0].intersection != 2 || runs[0].digest != d {
		t.Fatalf("runs %+v, err %v", runs, err)
	}
	for name, bad := range map[string]string{
		"no header":      strings.TrimPrefix(good, matchHeader+"\n"),
		"repetition gap": strings.Replace(good, "\n1,", "\n2,", 1),
		"short digest":   strings.Replace(good, hex.EncodeToString(d[:]), "abcd", 1),
		"extra field":    strings.Replace(good, "0,0.25,", "0,0.25,9,", 1),
		"negative cpu":   strings.Replace(good, ",0.4,", ",-0.4,", 1),
		"negative count": strings.Replace(good, ",2,", ",-2,", 1),
	} {
		if _, err := parseMatchOutput(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParseMatchOutput: no panic, and every parsed row printed again the
// way the baseline prints it parses to the same values.
func FuzzParseMatchOutput(f *testing.F) {
	d := matchDigest(nil)
	f.Add([]byte(fmt.Sprintf("%s\n0,1.5e-3,3e-3,0,%x\n", matchHeader, d)))
	f.Add([]byte(matchHeader + "\n0,,,0,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		runs, err := parseMatchOutput(bytes.NewReader(data))
		if err != nil {
			return
		}
		var b strings.Builder
		b.WriteString(matchHeader + "\n")
		for i, r := range runs {
			fmt.Fprintf(&b, "%d,%g,%g,%d,%x\n", i, r.seconds, r.cpu, r.intersection, r.digest)
		}
		again, err := parseMatchOutput(strings.NewReader(b.String()))
		if err != nil || !reflect.DeepEqual(again, runs) {
			t.Fatalf("reprinted output: %v, %+v != %+v", err, again, runs)
		}
	})
}

func TestSystemFiles(t *testing.T) {
	cpuinfo := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: other\n"
	if got := cpuModel(strings.NewReader(cpuinfo)); got != "AMD EPYC 7B13" {
		t.Errorf("cpu model %q", got)
	}
	if got := loadAverage(strings.NewReader("0.52 1.10 2.00 1/234 5678\n")); got != "0.52 1.10 2.00" {
		t.Errorf("load %q", got)
	}
	if got := cpuModel(strings.NewReader("")); got != "unknown" {
		t.Errorf("empty cpuinfo: %q", got)
	}
}

// FuzzSystemFiles: the /proc parsers never panic and always return a
// short, non-empty value fit for a CSV field.
func FuzzSystemFiles(f *testing.F) {
	f.Add([]byte("model name\t: AMD EPYC\n"))
	f.Add([]byte("0.1 0.2 0.3 1/2 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) string{
			func(b []byte) string { return cpuModel(bytes.NewReader(b)) },
			func(b []byte) string { return loadAverage(bytes.NewReader(b)) },
		} {
			if got := parse(data); got == "" || len(got) > 100 {
				t.Fatalf("value %q", got)
			}
		}
	})
}
