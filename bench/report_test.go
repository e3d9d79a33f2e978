package bench

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// WriteReport's files read back; ReadResults finds no rows where no report
// was written and refuses a results.csv that does not parse.
func TestReadResults(t *testing.T) {
	dir := t.TempDir()
	if rows, err := ReadResults(dir); err != nil || rows != nil {
		t.Fatalf("empty directory: %v, %v", rows, err)
	}
	files, err := WriteReport(dir, sampleRows())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("files %v", files)
	}
	rows, err := ReadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, sampleRows()) {
		t.Fatalf("read back %+v", rows)
	}
	if err := os.WriteFile(filepath.Join(dir, CSVFile), []byte("not,a,report\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadResults(dir); err == nil || !strings.Contains(err.Error(), CSVFile) {
		t.Fatalf("a bad results.csv: %v", err)
	}
}

// checkReport notices a file that a report lists but is empty or missing.
func TestCheckReportNoticesMissingFiles(t *testing.T) {
	dir := t.TempDir()
	files, err := WriteReport(dir, sampleRows())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkReport(dir, append(files, "gone.svg"), len(sampleRows())); err == nil ||
		!strings.Contains(err.Error(), SummaryFile+": empty") || !strings.Contains(err.Error(), "gone.svg") {
		t.Fatalf("got %v", err)
	}
	if err := checkReport(dir, nil, len(sampleRows())+1); err == nil {
		t.Fatal("a missing row went unnoticed")
	}
}
