package mirror

import (
	"errors"
	"testing"

	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
)

const testCategory = "black"

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidation(t *testing.T) {
	valid := func() Config {
		return Config{
			MSPID: "Bank1MSP", Directory: registry.New(nil, registry.Options{}),
			Send: outbound.New(outbound.PeerDialer(peer.Config{}), 0).Do, CatalogDir: t.TempDir(),
		}
	}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"no directory", func(c *Config) { c.Directory = nil }},
		{"no send", func(c *Config) { c.Send = nil }},
		{"bad MSP id", func(c *Config) { c.MSPID = "a/b" }},
		{"no catalog dir", func(c *Config) { c.CatalogDir = "" }},
		{"chunk above the protocol's", func(c *Config) { c.CatalogChunk = 2 << 20 }},
		{"bad category", func(c *Config) { c.Categories = []string{"a|b"} }},
		{"negative retry", func(c *Config) { c.CatalogRetry = -1 }},
	}
	m, err := New(valid())
	must(t, err)
	if m.cfg.CatalogRetry != DefaultCatalogRetry || m.cfg.MaxCatalogRetry != DefaultMaxCatalogRetry ||
		m.cfg.PhaseTimeout != outbound.DefaultPhaseTimeout || m.cfg.CatalogChunk == 0 || m.cfg.CatalogMaxBytes == 0 {
		t.Fatalf("defaults not applied: %+v", m.cfg)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			if _, err := New(c); !errors.Is(err, ErrConfig) {
				t.Fatalf("New = %v, want ErrConfig", err)
			}
		})
	}
}
