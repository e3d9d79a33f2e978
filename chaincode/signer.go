package chaincode

import (
	"crypto/ecdsa"
	"slices"
	"sync"

	"github.com/riskmesh/riskmesh/internal/ecsig"
)

// tableFrom is how many verifications a key must have been named for,
// counted over the Record transactions this contract instance has run,
// before it gets a table (ecsig.PrecomputedKey) and verifies its
// signatures with it instead of ecsig.VerifyKey: a table costs about as
// much CPU as 35 verifications save, so 64 leaves a margin. In a batch of a
// few hundred both the requester's key and the responder's reach it at
// once (docs/benchmarks.md, "Contract CPU per entry"); a provider whose
// node sends a few entries per Record reaches it after a few Records, and
// keeps the table for the ones after (keyTables).
const tableFrom = 64

// Bounds of keyTables.
const (
	// maxTables is how many key tables a contract instance keeps (about
	// 260 KB each); the least recently used goes first.
	maxTables = 16
	// maxCounted is how many keys without a table it counts uses of;
	// past it the counts start again.
	maxCounted = 1024
)

// keyTables keeps the tables of the keys that verify the most signatures
// across transactions, so that a ledger host recording a few entries per
// Record, one Record after another, verifies as cheaply as one recording
// hundreds at a time. A table only changes how fast a signature is
// verified, never the verdict (ecsig's TestPrecomputedKeyAgreesWithVerifyKey
// and FuzzPrecomputedVerify), so a contract instance with a table and one
// without reach the same outcome, and every endorser agrees whatever it ran
// before. A member cannot make tables churn for less than it already pays:
// a key gets a table only after tableFrom verifications under it since it
// was last counted, each costing the contract more than a table saves.
// It is safe for concurrent use (a chaincode server endorses in parallel).
type keyTables struct {
	mu     sync.Mutex
	tick   uint64
	tables map[string]*keyTable // by the key's DER
	uses   map[string]int       // verifications named, keys without a table
}

type keyTable struct {
	table    *ecsig.PrecomputedKey
	lastUsed uint64
}

// table returns the table of key (DER der) if it has one or has now been
// named for tableFrom verifications, counting named more; nil otherwise.
func (kt *keyTables) table(der string, key *ecdsa.PublicKey, named int) *ecsig.PrecomputedKey {
	kt.mu.Lock()
	kt.tick++
	if t, ok := kt.tables[der]; ok {
		t.lastUsed = kt.tick
		kt.mu.Unlock()
		return t.table
	}
	if kt.uses == nil {
		kt.uses, kt.tables = map[string]int{}, map[string]*keyTable{}
	}
	if len(kt.uses) >= maxCounted {
		clear(kt.uses)
	}
	kt.uses[der] += named
	if kt.uses[der] < tableFrom {
		kt.mu.Unlock()
		return nil
	}
	delete(kt.uses, der)
	kt.mu.Unlock()

	// A parsed registry key is a P-256 key, so this does not fail; if it
	// did, VerifyKey would verify as before.
	table, err := ecsig.Precompute(key)
	if err != nil {
		return nil
	}
	kt.mu.Lock()
	defer kt.mu.Unlock()
	if len(kt.tables) >= maxTables {
		oldest := ""
		for k, t := range kt.tables {
			if oldest == "" || t.lastUsed < kt.tables[oldest].lastUsed {
				oldest = k
			}
		}
		delete(kt.tables, oldest)
	}
	kt.tables[der] = &keyTable{table: table, lastUsed: kt.tick}
	return table
}

// signer is a registered transcript-signing key as one Record transaction
// uses it: parsed once, with a table once keyTables has one for it. Both
// ways of verifying accept exactly the same signatures, so every endorser
// reaches the same outcomes.
type signer struct {
	key   *ecdsa.PublicKey
	table *ecsig.PrecomputedKey
}

// newSigner returns the signer of key (DER der) for a batch that names its
// institution in named entries.
func (c *Contract) newSigner(der string, key *ecdsa.PublicKey, named int) *signer {
	return &signer{key: key, table: c.tables.table(der, key, named)}
}

func (s *signer) verify(digest, sig []byte) bool {
	if s.table != nil {
		return s.table.Verify(digest, sig) == nil
	}
	return ecsig.VerifyKey(s.key, digest, sig) == nil
}

// verifiesUnder reports whether sig over digest verifies under one of keys.
func verifiesUnder(keys []*signer, digest, sig []byte) bool {
	return slices.ContainsFunc(keys, func(s *signer) bool { return s.verify(digest, sig) })
}
