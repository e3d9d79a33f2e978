package requester

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/mirror"
	"github.com/riskmesh/riskmesh/node/outbound"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/registry"
)

// noPeriods is a ledger that is never asked.
type noPeriods struct{}

func (noPeriods) Period(context.Context, uint64) (*accounting.Period, error) {
	return nil, errors.New("not asked")
}

func TestConfigValidation(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "node.db"), 0o600, nil)
	must(t, err)
	defer db.Close()
	dir := registry.New(nil, registry.Options{})
	conns := outbound.New(outbound.PeerDialer(peer.Config{}), 0)
	catalogs, err := mirror.New(mirror.Config{MSPID: "Bank1MSP", Directory: dir, Send: conns.Do, CatalogDir: t.TempDir()})
	must(t, err)
	valid := func() Config {
		return Config{
			MSPID: "Bank1MSP", Directory: dir, Ledger: noPeriods{},
			Conns: conns, Sign: func([]byte) ([]byte, error) { return nil, nil },
			DB: db, Catalogs: catalogs,
		}
	}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"no ledger", func(c *Config) { c.Ledger = nil }},
		{"no connections", func(c *Config) { c.Conns = nil }},
		{"no catalog mirror", func(c *Config) { c.Catalogs = nil }},
		{"bad MSP id", func(c *Config) { c.MSPID = "a/b" }},
		{"batch above the protocol's", func(c *Config) { c.MaxBatch = 70000 }},
		{"negative deadline", func(c *Config) { c.DefaultDeadline = -time.Second }},
		{"default above max", func(c *Config) { c.DefaultDeadline, c.MaxDeadline = time.Minute, time.Second }},
		{"negative late-answer bound", func(c *Config) { c.MaxLateAnswers = -1 }},
	}
	r, err := New(valid())
	must(t, err)
	if r.cfg.BatchWindow != DefaultBatchWindow || r.cfg.MaxBatch != 65535 || r.cfg.DefaultDeadline != DefaultDeadline ||
		r.cfg.LateAnswerWindow != DefaultLateAnswerWindow || r.cfg.MaxLateAnswers != DefaultMaxLateAnswers {
		t.Fatalf("defaults not applied: %+v", r.cfg)
	}
	must(t, r.Close())
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
