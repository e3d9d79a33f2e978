package fabric

import (
	"errors"
	"testing"
)

const sampleYAML = `# top comment
peer:
    id: jdoe # the peer's name
    gossip:
        bootstrap: 127.0.0.1:7051
        endpoint:
    limits:
        concurrency:
            gatewayService: 500
vm:
    endpoint: unix:///var/run/docker.sock
`

func mustParse(t *testing.T, s string) *yamlDoc {
	t.Helper()
	d, err := parseYAML([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestYAMLSet(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		value any
		want  string
	}{
		{"replace nested scalar", "peer.gossip.bootstrap", "127.0.0.1:27060", "127.0.0.1:27060"},
		{"replace with number", "peer.limits.concurrency.gatewayService", 10000, "10000"},
		{"blank a value", "vm.endpoint", "", ""},
		{"add missing key", "peer.gossip.externalEndpoint", "127.0.0.1:1", "127.0.0.1:1"},
		{"add missing mapping", "operations.listenAddress", "127.0.0.1:2", "127.0.0.1:2"},
		{"empty value becomes mapping", "peer.gossip.endpoint.x", "y", "y"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, sampleYAML)
			if err := d.set(tt.path, tt.value); err != nil {
				t.Fatal(err)
			}
			// Round trip through the serialised form, as the peer reads it.
			file := t.TempDir() + "/core.yaml"
			if err := d.write(file); err != nil {
				t.Fatal(err)
			}
			d2, err := loadYAML(file)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := d2.get(tt.path)
			if !ok || got != tt.want {
				t.Fatalf("get(%s) = %q, %v; want %q", tt.path, got, ok, tt.want)
			}
		})
	}
}

func TestYAMLSetKeepsOtherValuesAndComments(t *testing.T) {
	d := mustParse(t, sampleYAML)
	if err := d.set("peer.id", "peer0"); err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/core.yaml"
	if err := d.write(file); err != nil {
		t.Fatal(err)
	}
	d2, err := loadYAML(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := d2.get("peer.gossip.bootstrap"); got != "127.0.0.1:7051" {
		t.Errorf("unrelated value changed: %q", got)
	}
	if got, _ := d2.get("peer.id"); got != "peer0" {
		t.Errorf("peer.id = %q", got)
	}
	if d2.root.Content[1].Content[1].LineComment == "" {
		t.Error("line comment of peer.id lost")
	}
}

func TestYAMLSetThroughScalarFails(t *testing.T) {
	d := mustParse(t, sampleYAML)
	err := d.set("peer.id.sub", "x")
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("err = %v, want ErrConfig", err)
	}
}

func TestParseYAMLRejectsNonMapping(t *testing.T) {
	for _, in := range []string{"- a\n- b\n", "just a scalar\n"} {
		if _, err := parseYAML([]byte(in)); !errors.Is(err, ErrConfig) {
			t.Errorf("parseYAML(%q) err = %v, want ErrConfig", in, err)
		}
	}
}
