package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/accounting/fabric"
	"github.com/riskmesh/riskmesh/node/identity"
	"github.com/riskmesh/riskmesh/node/ledgerrelay"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// ledgerConn is this node's way to the ledger.
type ledgerConn struct {
	// Ledger acts as this institution.
	Ledger accounting.Ledger
	// relay answers ledger_invoke for other nodes; nil unless this node
	// hosts the embedded ledger.
	relay func(ctx context.Context, p peer.Identity, req *riskmeshv1.LedgerInvoke) *riskmeshv1.PeerResponse
	// members vouches for the consortium file's certificates (and the
	// host's own) while their institutions have registered none
	// (ledgerrelay.Registered); nil unless this node hosts the embedded
	// ledger.
	members peer.Authorizer
	// embedded is the ledger file Backup copies; nil unless this node
	// hosts the embedded ledger.
	embedded *accounting.EmbeddedStore
	// host is the connection to the ledger host's relay; nil unless this
	// node reaches the embedded ledger remotely.
	host   *ledgerrelay.Conn
	closer io.Closer
}

// OpenLedger connects to the ledger as cfg.Ledger says, acting as id. On
// the embedded backend it opens the ledger file (which only one process
// may hold) and prepares the relay; on embedded-remote it dials the host
// lazily, so this node starts while the host is down.
func openLedger(cfg *Config, id *identity.Identity) (*ledgerConn, error) {
	switch cfg.Ledger.Backend {
	case BackendEmbedded:
		path := cfg.Ledger.Path
		if path == "" {
			path = filepath.Join(cfg.DataDir, "ledger.db")
		}
		store, err := accounting.OpenEmbedded(path, accounting.EmbeddedConfig{Regulator: cfg.MSPID, Governance: cfg.Ledger.Genesis})
		if err != nil {
			return nil, err
		}
		l, err := store.As(cfg.MSPID)
		if err != nil {
			store.Close()
			return nil, err
		}
		lc := &ledgerConn{Ledger: l, closer: store, embedded: store}
		// Before their first registration the host admits itself (the
		// admin commands dial their own node) and the consortium's
		// members; from then on the ledger's registry decides, read on
		// every relayed call.
		self := pinned(cfg.MSPID, id.Fingerprint)
		lc.members = self
		if cfg.Ledger.ConsortiumFile != "" {
			cons, err := identity.LoadConsortium(cfg.Ledger.ConsortiumFile)
			if err != nil {
				store.Close()
				return nil, err
			}
			lc.members = peer.AuthorizerFunc(func(fp [32]byte) (string, error) {
				if msp, err := self.Authorize(fp); err == nil {
					return msp, nil
				}
				return cons.Authorize(fp)
			})
		}
		lc.relay = ledgerrelay.NewHandler(store, ledgerrelay.Registered(l.Institution, lc.members))
		return lc, nil
	case BackendEmbeddedRemote:
		l, host := DialLedgerHost(id, cfg.Ledger.HostEndpoint, cfg.Ledger.HostMSPID, cfg.Ledger.HostFingerprint, cfg.Peer)
		return &ledgerConn{Ledger: l, host: host, closer: host}, nil
	case BackendFabric:
		fc := cfg.Ledger.Fabric
		fc.MSPID = cfg.MSPID
		c, err := fabric.New(fc)
		if err != nil {
			return nil, err
		}
		return &ledgerConn{Ledger: c, closer: c}, nil
	case "":
		return nil, errors.New("daemon: no ledger backend configured")
	default:
		return nil, fmt.Errorf("daemon: unknown ledger backend %q", cfg.Ledger.Backend)
	}
}

// AdminLedger opens the ledger for a tool running beside the node that cfg
// configures (the `riskmesh ledger` commands), acting as the same
// institution. It never opens the embedded ledger file, which the running
// node holds: on the ledger host it goes through the host's own relay
// (which admits the host's own certificate), elsewhere through the host's
// relay or the Fabric gateway, exactly as the node does.
func AdminLedger(cfg Config) (accounting.Ledger, io.Closer, error) {
	l, c, _, err := adminLedgerToken(cfg)
	return l, c, err
}

// adminLedgerToken is AdminLedger that also returns the token it opened
// (nil if node.yaml names none), which the returned closer closes.
func adminLedgerToken(cfg Config) (accounting.Ledger, io.Closer, *identity.Token, error) {
	if err := cfg.withDefaults(); err != nil {
		return nil, nil, nil, err
	}
	ks, err := openKeystore(&cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	l, c, err := adminLedger(&cfg, ks)
	if ks.Token == nil {
		return l, c, nil, err
	}
	if err != nil {
		ks.Token.Close()
		return nil, nil, nil, err
	}
	return l, closers{c, ks.Token}, ks.Token, nil
}

func adminLedger(cfg *Config, ks identity.Keystore) (accounting.Ledger, io.Closer, error) {
	id, err := ks.Load()
	if err != nil {
		return nil, nil, err
	}
	if cfg.Ledger.Backend == BackendEmbedded {
		endpoint := cfg.PeerEndpoint
		if endpoint == "" {
			endpoint = cfg.PeerListen
		}
		l, c := DialLedgerHost(id, endpoint, id.MSPID, id.Fingerprint, cfg.Peer)
		return l, c, nil
	}
	lc, err := openLedger(cfg, id)
	if err != nil {
		return nil, nil, err
	}
	return lc.Ledger, lc.closer, nil
}

// closers closes each in order, returning the first error.
type closers []io.Closer

func (cs closers) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
