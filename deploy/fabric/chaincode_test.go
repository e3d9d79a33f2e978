package fabric

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// untar returns the files of a gzipped tar in order.
func untar(t *testing.T, b []byte) ([]string, map[string][]byte) {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, files
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		files[h.Name] = body
	}
}

func TestCCAASPackage(t *testing.T) {
	pkg, id, err := ccaasPackage("riskmesh_1", "127.0.0.1:27053")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("id is label and sha256 of the package", func(t *testing.T) {
		sum := sha256.Sum256(pkg)
		if want := "riskmesh_1:" + hex.EncodeToString(sum[:]); id != want {
			t.Fatalf("id = %s, want %s", id, want)
		}
	})
	t.Run("deterministic", func(t *testing.T) {
		pkg2, id2, err := ccaasPackage("riskmesh_1", "127.0.0.1:27053")
		if err != nil {
			t.Fatal(err)
		}
		if id2 != id || !bytes.Equal(pkg, pkg2) {
			t.Fatal("same inputs gave a different package")
		}
		_, other, _ := ccaasPackage("riskmesh_1", "127.0.0.1:27153")
		if other == id {
			t.Fatal("a different address gave the same package id")
		}
	})
	t.Run("layout", func(t *testing.T) {
		names, files := untar(t, pkg)
		if strings.Join(names, ",") != "metadata.json,code.tar.gz" {
			t.Fatalf("package holds %v", names)
		}
		var meta map[string]string
		if err := json.Unmarshal(files["metadata.json"], &meta); err != nil {
			t.Fatal(err)
		}
		if meta["type"] != "ccaas" || meta["label"] != "riskmesh_1" {
			t.Fatalf("metadata = %v", meta)
		}
		codeNames, code := untar(t, files["code.tar.gz"])
		if strings.Join(codeNames, ",") != "connection.json" {
			t.Fatalf("code package holds %v", codeNames)
		}
		var conn struct {
			Address     string `json:"address"`
			DialTimeout string `json:"dial_timeout"`
			TLSRequired bool   `json:"tls_required"`
		}
		if err := json.Unmarshal(code["connection.json"], &conn); err != nil {
			t.Fatal(err)
		}
		if conn.Address != "127.0.0.1:27053" || conn.TLSRequired || conn.DialTimeout == "" {
			t.Fatalf("connection.json = %+v", conn)
		}
	})
}
