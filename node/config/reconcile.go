package config

import (
	"fmt"
	"time"

	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Reconcile is the reconciliation section (node/recon,
// docs/reconciliation.md): the lists this node may reconcile with another
// institution's, and, as a responder, who may reconcile which of them.
type Reconcile struct {
	// Lists are read like provider sources (kind, path or query, mapping);
	// name is how reconciliations name the list (1 to 64 bytes of
	// [A-Za-z0-9._-]) and category the ledger category a reconciliation
	// of it is billed under when this node answers. refresh is not used.
	Lists []Source `yaml:"lists,omitempty"`
	// Grants is the responder's consent policy: anything no grant admits
	// is refused (NOT_ADMITTED) before any work. Default none.
	Grants []Grant `yaml:"grants,omitempty"`
	// ChunkSize is the number of points per chunk this node asks for as a
	// requester. Default 4096, at most 16384.
	ChunkSize int `yaml:"chunk_size"`
	// MaxSessions bounds the reconciliations answered at once. Default 4.
	MaxSessions int `yaml:"max_sessions"`
	// IdleTimeout ends an answered reconciliation whose requester has sent
	// nothing for that long. Default 2m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// Grant admits one requester to reconcile one list in the modes named.
type Grant struct {
	// Requester is the requester's MSP id. Required.
	Requester string `yaml:"requester"`
	// List names one of reconcile.lists. Required.
	List string `yaml:"list"`
	// Modes are "requester-learns" and/or "both-learn"
	// (recon.ModeRequesterLearns, recon.ModeBothLearn). Required.
	Modes []string `yaml:"modes"`
	// ShareLabels agrees to exchange the labels of matched rows with this
	// requester in both-learn, when it asks. Default false.
	ShareLabels bool `yaml:"share_labels,omitempty"`
}

func (cfg *Config) validateReconcile(c *checker) {
	r := &cfg.Reconcile
	seen := map[string]bool{}
	for i := range r.Lists {
		s := &r.Lists[i]
		key := fmt.Sprintf("reconcile.lists[%d]", i)
		if !names.Category(s.Name) {
			c.fail(key+".name", "%q is not a list name ([A-Za-z0-9._-], 1 to 64 bytes)", s.Name)
		} else if seen[s.Name] {
			c.fail(key+".name", "%q used by an earlier list", s.Name)
		}
		seen[s.Name] = true
		s.validate(c, key)
	}
	for i, g := range r.Grants {
		key := fmt.Sprintf("reconcile.grants[%d]", i)
		if !names.MSPID(g.Requester) {
			c.fail(key+".requester", "%q is not an MSP id", g.Requester)
		}
		if !seen[g.List] {
			c.fail(key+".list", "%q is not a list of reconcile.lists", g.List)
		}
		if len(g.Modes) == 0 {
			c.fail(key+".modes", "name at least one of %s, %s", recon.ModeRequesterLearns, recon.ModeBothLearn)
		}
		for _, m := range g.Modes {
			if recon.Protocol(m) == 0 {
				c.fail(key+".modes", "%q is not %s or %s", m, recon.ModeRequesterLearns, recon.ModeBothLearn)
			}
		}
	}
	if r.ChunkSize < 0 || r.ChunkSize > riskmeshv1.MaxReconChunk {
		c.fail("reconcile.chunk_size", "must be 0 (default 4096) to %d", riskmeshv1.MaxReconChunk)
	}
	c.nonNegative("reconcile.max_sessions", int64(r.MaxSessions))
	c.nonNegative("reconcile.idle_timeout", int64(r.IdleTimeout))
}
