package daemon

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/riskmesh/riskmesh/accounting/fabric"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/node/api"
	"github.com/riskmesh/riskmesh/node/mirror"
	"github.com/riskmesh/riskmesh/node/outbox"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/node/provider"
	"github.com/riskmesh/riskmesh/node/push"
	"github.com/riskmesh/riskmesh/node/recon"
	"github.com/riskmesh/riskmesh/node/registry"
	"github.com/riskmesh/riskmesh/node/requester"
)

// Ledger backends (Config.Ledger.Backend), as in node/config.
const (
	// BackendEmbedded: this node opens the embedded ledger file and serves
	// it to the consortium over the ledger relay (the regulator's node).
	BackendEmbedded = "embedded"
	// BackendEmbeddedRemote: this node reaches the embedded ledger through
	// the hosting node's relay (every other node of an embedded consortium).
	BackendEmbeddedRemote = "embedded-remote"
	// BackendFabric: this node calls the chaincode through its own Fabric
	// peer's gateway.
	BackendFabric = "fabric"
)

// Config is what the daemon wires together: the node configuration file
// (node/config, see FromConfig) in the form the components take. The
// component configs are templates: the daemon fills in what it owns (the
// identity's keys, the ledger, the registry, node.db, the dialer, loggers).
// MSPID, DataDir, IdentityDir, PeerListen and Ledger.Backend are required.
type Config struct {
	// MSPID is this institution; it must match the identity's certificate.
	MSPID string
	// DataDir holds node.db, catalogs and the API socket; created 0700.
	DataDir string
	// IdentityDir holds the node/identity files.
	IdentityDir string
	// Keys says where the identity's keys live (a PKCS#11 token or the
	// directory) and how stored data is sealed. Zero: files, nothing
	// sealed.
	Keys KeysConfig

	// PeerListen is the QUIC address to listen on (host:port).
	PeerListen string
	// PeerEndpoint is the address other nodes dial, registered on the
	// ledger. Default: the address PeerListen bound.
	PeerEndpoint string
	// Peer carries the transport's limits and timeouts.
	Peer peer.Config

	// API tunes the business API.
	API api.Config
	// APISocket is the business API's unix socket, always served. Default
	// DataDir/api.sock.
	APISocket string
	// APIListen optionally serves the API on TCP too, with APITLS (mutual
	// TLS: RequireAndVerifyClientCert with the institution's client CA).
	APIListen string
	APITLS    *tls.Config

	// MetricsListen serves /metrics and /healthz over HTTP; empty disables
	// it.
	MetricsListen string
	// PprofListen serves Go's profiles and execution traces under
	// /debug/pprof/ over HTTP (metrics.ProfileHandler); empty disables it.
	// node/config keeps it on loopback.
	PprofListen string

	// Ledger says how this node reaches the ledger.
	Ledger LedgerConfig
	// Registry tunes the registry cache.
	Registry registry.Options

	// Requester enables and tunes the requester side; nil: this node does
	// not query.
	Requester *requester.Config
	// Mirror tunes the requester side's catalog mirror; it runs with
	// Requester, whose node.yaml section sets it.
	Mirror mirror.Config
	// CatalogResidentBytes is how many bytes of the held catalogs the
	// requester side's look-ups read in memory (psi/catalog's resident
	// budget, process-wide); look-ups in the catalogs beyond it read from
	// their files. Zero: psi/catalog.DefaultResidentBudget.
	CatalogResidentBytes int64
	// Provider enables and tunes the provider side (its Sources name the
	// lists; the categories are theirs, with the identity's OPRF keys);
	// nil or no sources: this node provides nothing. The daemon sets its
	// Outbox from Outbox.
	Provider *provider.Config
	// Outbox tunes the submitter that records this node's bills on the
	// ledger (node.yaml's outbox section): the provider's, or, on a node
	// that provides nothing, the one its reconciliations' bills go
	// through. The daemon sets its Ledger and Logger.
	Outbox outbox.Config
	// Reconcile enables reconciliations of whole lists (node/recon); the
	// daemon sets its MSPID, Sign, Keys, Dir and Logger. nil: this node
	// neither starts nor answers any.
	Reconcile *recon.Config
	// Push, with Requester, pushes query events to the institution's
	// business systems (node/push); the daemon sets its DB, MSPID and
	// Logger. nil: nothing is pushed.
	Push *push.Config
	// Disputes, with Requester or Reconcile, files the answers whose proof
	// fails (catalog, live and reconciliation answers) with the auditor;
	// nil: disputed answers are only reported.
	Disputes *DisputeConfig
	// SourceRefresh re-reads the named sources at these intervals (their
	// catalogs rebuild when the lists changed); sources not listed are
	// read at each period start and on request.
	SourceRefresh map[string]time.Duration

	// DrainTimeout bounds the wait for the outbox to flush on stop
	// (default 10 s); what remains flushes after the next start.
	DrainTimeout time.Duration

	// Logger receives the node's events (default: discard).
	Logger *slog.Logger
	// Version is reported by Health.
	Version string
}

// LedgerConfig selects and configures the ledger backend.
type LedgerConfig struct {
	// Backend is BackendEmbedded, BackendEmbeddedRemote or BackendFabric.
	Backend string

	// Path is the embedded ledger file (BackendEmbedded). Default
	// DataDir/ledger.db.
	Path string
	// ConsortiumFile lists the members admitted to the relay before they
	// are registered (BackendEmbedded; node/identity's consortium file).
	ConsortiumFile string
	// Genesis is the governance a new embedded ledger starts under
	// (BackendEmbedded; docs/governance.md); the zero value is the
	// regulator deciding alone.
	Genesis chaincode.Governance

	// HostMSPID, HostEndpoint and HostFingerprint identify the node hosting
	// the embedded ledger (BackendEmbeddedRemote).
	HostMSPID       string
	HostEndpoint    string
	HostFingerprint peer.Fingerprint

	// Fabric is the gateway connection (BackendFabric); MSPID is set to
	// Config.MSPID.
	Fabric fabric.Config
}
