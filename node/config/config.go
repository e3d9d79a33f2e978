package config

import (
	"time"

	"github.com/riskmesh/riskmesh/psi/ident"
)

// Config is the whole node.yaml. Default returns it with the node-level
// defaults filled in; see the package comment for tuning values.
type Config struct {
	// MSPID is this institution's MSP id; it must match the identity's
	// certificate. Required.
	MSPID string `yaml:"msp_id"`
	// DataDir holds node.db, catalogs and the default API socket; created
	// 0700. Default "data".
	DataDir string `yaml:"data_dir"`
	// IdentityDir holds the key material (riskmesh init identity). Default
	// "identity".
	IdentityDir string `yaml:"identity_dir"`
	// Keys says, per key, whether it lives in the identity directory or
	// in a PKCS#11 token.
	Keys Keys `yaml:"keys"`
	// AtRest says how stored data is sealed.
	AtRest AtRest `yaml:"at_rest"`

	Identifiers Identifiers `yaml:"identifiers"`
	Listen      Listen      `yaml:"listen"`
	API         API         `yaml:"api"`
	Ledger      Ledger      `yaml:"ledger"`
	Registry    Registry    `yaml:"registry"`
	Peer        Peer        `yaml:"peer"`
	Provider    Provider    `yaml:"provider"`
	Reconcile   Reconcile   `yaml:"reconcile"`
	Requester   Requester   `yaml:"requester"`
	Disputes    Disputes    `yaml:"disputes"`
	Outbox      Outbox      `yaml:"outbox"`
	Push        Push        `yaml:"push"`
	Retention   Retention   `yaml:"retention"`
	Log         Log         `yaml:"log"`
}

// Identifiers says how identifiers written in national form are read, in
// this node's lists and in the queries its business systems send
// (psi/ident.Config). Every member of a consortium must write an identifier
// the same way for it to match, so a national number is turned into its
// international form before anything is hashed.
type Identifiers struct {
	// DefaultCallingCode is the country calling code (1-3 digits, e.g.
	// "86") of phone numbers written without "+" or "00": with "86",
	// 13800138000 reads as +8613800138000. Default empty: such numbers
	// are refused rather than guessed.
	DefaultCallingCode string `yaml:"default_calling_code"`
}

// IdentConfig returns the settings as psi/ident's Config.
func (i Identifiers) IdentConfig() ident.Config {
	return ident.Config{DefaultCallingCode: i.DefaultCallingCode}
}

// Normalizer returns the identifier normaliser these settings describe.
func (i Identifiers) Normalizer() (*ident.Normalizer, error) {
	return ident.New(i.IdentConfig())
}

// Listen is where the node accepts connections.
type Listen struct {
	// Peer is the UDP address of the QUIC peer transport. Default
	// "127.0.0.1:7400".
	Peer string `yaml:"peer"`
	// Endpoint is the host:port other nodes dial, registered on the ledger.
	// Default: Peer.
	Endpoint string `yaml:"endpoint"`
	// API is the business gRPC API: "unix:PATH" (socket mode 0600) or
	// "tcp:HOST:PORT" (mutual TLS, see api.tls). Default
	// "unix:<data_dir>/api.sock".
	API string `yaml:"api"`
	// Metrics is the HTTP address of /metrics and /healthz, or "off".
	// Default "127.0.0.1:9400".
	Metrics string `yaml:"metrics"`
	// Pprof is the loopback HTTP address of Go's profiles
	// (/debug/pprof/: CPU, heap, goroutines, execution trace), or "off".
	// Default "off": a profile shows code paths and timings, not data, but
	// an open profiling port lets whoever reaches it burn the node's CPU
	// and record its requests' timing, so it is off unless an operator
	// turns it on, and only ever on loopback.
	Pprof string `yaml:"pprof"`
}

// Off turns an optional listener off (listen.metrics, listen.pprof).
const Off = "off"

// API tunes the business gRPC API (node/api).
type API struct {
	// TLS is required when listen.api is tcp and refused for unix.
	TLS *APITLS `yaml:"tls"`
	// AdminClients are the client certificate common names allowed the
	// admin methods over TCP. Default none (the unix socket always allows
	// them).
	AdminClients []string `yaml:"admin_clients,omitempty"`
	// MaxIdentifiers bounds one query's identifiers. Default 100000.
	MaxIdentifiers int `yaml:"max_identifiers"`
	// MaxProviders bounds one query's provider list. Default 1024.
	MaxProviders int `yaml:"max_providers"`
	// MaxStreams bounds the concurrent calls on one client connection.
	// Default 32.
	MaxStreams int `yaml:"max_streams"`
	// MaxQueries bounds the Query calls in flight over all connections; one
	// more is refused RESOURCE_EXHAUSTED. Default 16 (docs/api.md, "Bounds",
	// says what memory that admits).
	MaxQueries int `yaml:"max_queries"`
	// GracePeriod bounds a graceful stop. Default 10s.
	GracePeriod time.Duration `yaml:"grace_period"`
}

// APITLS is the TLS material of a TCP API listener, as PEM file paths.
type APITLS struct {
	Cert     string `yaml:"cert"`      // server certificate; required
	Key      string `yaml:"key"`       // its private key; required, mode 0600
	ClientCA string `yaml:"client_ca"` // CA that signs client certificates; required
}

// Ledger backends.
const (
	// BackendEmbedded: this node opens the embedded ledger file and serves
	// it to the consortium over the peer transport (the regulator).
	BackendEmbedded = "embedded"
	// BackendEmbeddedRemote: the embedded ledger, reached through the
	// regulator's node (every other institution).
	BackendEmbeddedRemote = "embedded-remote"
	// BackendFabric: a Hyperledger Fabric channel through the institution's
	// own peer gateway.
	BackendFabric = "fabric"
)

// Ledger says how the node reaches the ledger. Only the section of the
// chosen backend may be present.
type Ledger struct {
	// Backend is embedded, embedded-remote or fabric. Default
	// embedded-remote.
	Backend  string    `yaml:"backend"`
	Embedded *Embedded `yaml:"embedded"`
	Remote   *Remote   `yaml:"remote"`
	Fabric   *Fabric   `yaml:"fabric"`
}

// Embedded is the regulator's own embedded ledger.
type Embedded struct {
	// Path is the bbolt ledger file. Default "<data_dir>/ledger.db".
	Path string `yaml:"path"`
	// ConsortiumFile lists the members admitted to the ledger relay before
	// they are registered (riskmesh init consortium). Required.
	ConsortiumFile string `yaml:"consortium_file"`
	// GovernanceThreshold is the genesis governance of a new ledger
	// (docs/governance.md): 0, the regulator decides alone; k > 0, k
	// active members approve each consortium decision. Once the ledger
	// holds its governance record, that record rules and this is ignored,
	// as the chaincode server's RISKMESH_GOVERNANCE_THRESHOLD on Fabric.
	GovernanceThreshold int `yaml:"governance_threshold,omitempty"`
}

// Remote is the regulator's node relaying the embedded ledger.
type Remote struct {
	// MSPID is the regulator's MSP id. Required.
	MSPID string `yaml:"msp_id"`
	// Endpoint is the regulator node's peer address, host:port. Required.
	Endpoint string `yaml:"endpoint"`
	// TLSFingerprint is the SHA-256 of the regulator node's TLS
	// certificate, 64 hex digits, pinned before the registry is readable.
	// Required.
	TLSFingerprint string `yaml:"tls_fingerprint"`
}

// Fabric is the connection to the institution's Fabric peer gateway
// (accounting/fabric). Paths name PEM files.
type Fabric struct {
	PeerAddress string `yaml:"peer_address"`  // host:port; required
	TLSRootCert string `yaml:"tls_root_cert"` // CA of the peer's TLS certificate; required
	ServerName  string `yaml:"server_name"`   // default: host of peer_address
	Certificate string `yaml:"certificate"`   // client identity certificate; required
	PrivateKey  string `yaml:"private_key"`   // its PKCS #8 key; required, mode 0600
	Channel     string `yaml:"channel"`       // default "riskmesh"
	Chaincode   string `yaml:"chaincode"`     // default "riskmesh"
	// MaxInFlight bounds concurrent submissions. Default 64.
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxAttempts bounds the tries of one call. Default 5.
	MaxAttempts int `yaml:"max_attempts"`
	// Backoff and MaxBackoff bound retry delays. Defaults 50ms, 2s.
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// Per-phase deadlines. Defaults 30s, 10s, 1m, 30s.
	EndorseTimeout      time.Duration `yaml:"endorse_timeout"`
	SubmitTimeout       time.Duration `yaml:"submit_timeout"`
	CommitStatusTimeout time.Duration `yaml:"commit_status_timeout"`
	EvaluateTimeout     time.Duration `yaml:"evaluate_timeout"`
}

// Registry tunes the node's cache of the ledger registry (node/registry).
type Registry struct {
	// Refresh is how often the cache is refreshed. Default 5s.
	Refresh time.Duration `yaml:"refresh"`
	// Timeout bounds one refresh. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// Peer tunes the QUIC peer transport (node/peer.Config); zero means that
// package's default.
type Peer struct {
	HandshakeTimeout time.Duration `yaml:"handshake_timeout"`  // default 10s
	IdleTimeout      time.Duration `yaml:"idle_timeout"`       // default 60s
	ReadTimeout      time.Duration `yaml:"read_timeout"`       // default 15s
	HandleTimeout    time.Duration `yaml:"handle_timeout"`     // default 30s
	WriteTimeout     time.Duration `yaml:"write_timeout"`      // default 15s
	MaxStreams       int           `yaml:"max_streams"`        // default 16
	MaxConnsPerPeer  int           `yaml:"max_conns_per_peer"` // default 4
	RequestRate      float64       `yaml:"request_rate"`       // per second, default 1000
	RequestBurst     int           `yaml:"request_burst"`      // default 2000
	MaxRequestSize   int           `yaml:"max_request_size"`   // bytes, default about 2 MiB
}

// Provider is the provider side (node/provider): the lists this node
// serves. A node without sources provides nothing.
type Provider struct {
	Sources []Source `yaml:"sources,omitempty"`
	// Serve says how each category is served: a list of ServeCatalog
	// ("catalog": a catalog per period, catalog PSI) and ServeLive
	// ("live": homomorphic look-ups against the current list,
	// docs/protocol/hepsi.md). Default, and for a category not listed:
	// catalog only.
	Serve map[string][]string `yaml:"serve,omitempty"`
	// LiveBatch is the most identifiers one live query carries, 1 to
	// 4096. Default 1024.
	LiveBatch int `yaml:"live_batch"`
	// LiveKeyUploads bounds each requester's evaluation-key uploads:
	// each costs this node a decode (a few milliseconds of CPU) and
	// nothing bills it. Default: bursts of 16, 4 more a minute.
	LiveKeyUploads LiveBudget `yaml:"live_key_uploads"`
	// LiveRetries bounds each requester's live queries evaluated again:
	// a query sent again on its exchange whose answer this node no longer
	// keeps costs seconds of CPU and nothing bills it. Default: bursts of
	// 4, 2 more a minute.
	LiveRetries LiveBudget `yaml:"live_retries"`
	// MaxBatch is the largest item count one evaluate request may carry.
	// Default 65535.
	MaxBatch int `yaml:"max_batch"`
	// RetryBuild is the wait before retrying a failed catalog build.
	// Default 1m.
	RetryBuild time.Duration `yaml:"retry_build"`
	// ExposureRefresh is how often the requesters' exposures (settled
	// balance, limit and unsettled spend) are read from the ledger to
	// refuse a requester past its overdraft limit; it bounds the overshoot
	// (docs/ledger.md). Default 2s, at most 1m.
	ExposureRefresh time.Duration `yaml:"exposure_refresh"`
	// Misbehave makes this provider answer wrongly on purpose, to show
	// and test disputes (docs/demo.md); never set it on a real node.
	// MisbehaveCorruptEvaluation is the only value: one evaluated element
	// of every answer is replaced after the proof is made, so the proof
	// fails, the requester disputes the answer and the auditor upholds
	// the dispute. Default: empty, an honest provider.
	Misbehave string `yaml:"misbehave,omitempty"`
}

// LiveBudget is provider.live_key_uploads or provider.live_retries, a
// token bucket per requester (node/provider LiveBudget); 0 takes the
// default of each.
type LiveBudget struct {
	Burst     int     `yaml:"burst"`
	PerMinute float64 `yaml:"per_minute"`
}

// The values of Provider.Serve and Requester.Mode.
const (
	ServeCatalog = "catalog"
	ServeLive    = "live"
	ModeAuto     = "auto"
	ModeCatalog  = ServeCatalog
	ModeLive     = ServeLive
)

// MisbehaveCorruptEvaluation is the one value of Provider.Misbehave.
const MisbehaveCorruptEvaluation = "corrupt-evaluation"

// Requester is the requester side (node/requester).
type Requester struct {
	// Categories restricts the categories whose catalogs are downloaded.
	// Default: every category some active provider serves.
	Categories []string `yaml:"categories,omitempty"`
	// Mode is how a query that names no mode asks each provider: ModeAuto
	// (catalog PSI where a verified catalog is ready, live mode
	// otherwise), ModeCatalog or ModeLive. Default auto.
	Mode string `yaml:"mode,omitempty"`
	// BatchWindow is the longest a query part waits, while a request to
	// the same provider is in flight, to share a request with others.
	// Default 2ms; "-1ns" disables.
	BatchWindow time.Duration `yaml:"batch_window"`
	// MaxBatch is the most items in one request to a provider. Default 65535.
	MaxBatch int `yaml:"max_batch"`
	// SplitItems, if set, is the fewest items per exchange when a large
	// catalog part is cut into pipelined exchanges (a part of at least
	// twice as many identifiers is; docs/node-requester.md, "Pipelined
	// exchanges"). Default 0: never split.
	SplitItems int `yaml:"split_items,omitempty"`
	// MaxIdentifiers bounds a query's identifiers. Default 100000.
	MaxIdentifiers int `yaml:"max_identifiers"`
	// DefaultDeadline applies to a query that sets none. Default 30s.
	DefaultDeadline time.Duration `yaml:"default_deadline"`
	// MaxDeadline caps a query's deadline. Default 10m.
	MaxDeadline time.Duration `yaml:"max_deadline"`
	// RetryBackoff doubles per retry of a provider request up to
	// MaxRetryBackoff. Defaults 50ms, 2s.
	RetryBackoff    time.Duration `yaml:"retry_backoff"`
	MaxRetryBackoff time.Duration `yaml:"max_retry_backoff"`
	// CatalogRetry doubles per failed catalog download up to
	// MaxCatalogRetry. Defaults 2s, 5m.
	CatalogRetry    time.Duration `yaml:"catalog_retry"`
	MaxCatalogRetry time.Duration `yaml:"max_catalog_retry"`
	// CatalogMaxBytes bounds one catalog download. Default 1 GiB.
	CatalogMaxBytes int64 `yaml:"catalog_max_bytes"`
	// CatalogResidentBytes is how many bytes of the held catalogs
	// look-ups read in memory; look-ups in the catalogs beyond it read
	// from their files, so the node's resident memory does not grow with
	// its providers' lists (docs/protocol/catalog.md, "What is resident").
	// Default 256 MiB.
	CatalogResidentBytes int64 `yaml:"catalog_resident_bytes"`
	// PhaseTimeout bounds dialling and each catalog request. Default 15s.
	PhaseTimeout time.Duration `yaml:"phase_timeout"`
	// LateAnswerWindow is how long a request cut off by its query's
	// deadline is sent again to fetch the answer the provider may have
	// billed. Default 2m; "-1ns" disables.
	LateAnswerWindow time.Duration `yaml:"late_answer_window"`
	// MaxLateAnswers bounds the requests being fetched late. Default 1024.
	MaxLateAnswers int `yaml:"max_late_answers"`
	// ReconcileInterval is how often the ledger entries billed to this
	// institution are reconciled with the answers it verified
	// (docs/node-requester.md, "Reconciliation"). Default 5m; "-1ns"
	// disables the background pass.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// NonDeliveryAfter is how long a billed answer stays missing and
	// unredelivered before a non-delivery dispute is filed. Default 30m.
	NonDeliveryAfter time.Duration `yaml:"non_delivery_after"`
}

// Disputes turns on automatic disputes on a requester node (node/dispute,
// docs/audit.md): every answer whose proof fails is filed with the
// consortium's auditor service and, when upheld, reversed on the ledger.
type Disputes struct {
	// AuditorMSP is the auditor institution whose verdicts are accepted
	// (its TLS fingerprint and signing key come from the ledger registry).
	// Empty: disputed answers are only reported.
	AuditorMSP string `yaml:"auditor_msp"`
	// AuditorAddress is the auditor service's host:port (`riskmesh audit
	// serve --listen`). Required with AuditorMSP.
	AuditorAddress string `yaml:"auditor_address"`
	// Retry is the first wait before filing a pending dispute again; it
	// doubles up to 16 times that. Default 30s.
	Retry time.Duration `yaml:"retry"`
}

// Outbox tunes the accounting submitter (node/outbox).
type Outbox struct {
	// BatchSize is the number of entries per ledger transaction. Default
	// 200, at most 1000.
	BatchSize int `yaml:"batch_size"`
	// MinBackoff and MaxBackoff bound the wait after a failed batch.
	// Defaults 250ms, 30s.
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// CallTimeout bounds one ledger call. Default 60s.
	CallTimeout time.Duration `yaml:"call_timeout"`
	// BatchDelay is how long the submitter waits, with fewer than
	// batch_size entries pending, for more to share one ledger call.
	// Default 250ms, at most 1s; negative ("-1ns") sends at once.
	BatchDelay time.Duration `yaml:"batch_delay"`
}

// Retention says how long local records are kept.
type Retention struct {
	// TranscriptPeriods is how many periods of transcripts are kept, on
	// both sides. Default: the provider keeps 30, the requester 90.
	TranscriptPeriods uint64 `yaml:"transcript_periods"`
	// Queries is how long query records are kept. Default 8760h (365 days).
	Queries time.Duration `yaml:"queries"`
}

// Log configures the node's structured log on standard error.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `yaml:"level"`
	// Format is json or text. Default json.
	Format string `yaml:"format"`
}

// Node-level defaults.
const (
	DefaultDataDir     = "data"
	DefaultIdentityDir = "identity"
	DefaultPeer        = "127.0.0.1:7400"
	DefaultMetrics     = "127.0.0.1:9400"
	DefaultAPISocket   = "api.sock" // in data_dir
	DefaultLedgerFile  = "ledger.db"
	DefaultBackend     = BackendEmbeddedRemote
	DefaultLogLevel    = "info"
	DefaultLogFormat   = "json"
)

// Default returns a configuration with every node-level default set and
// every tuning value zero (the packages' defaults). MSPID and the ledger
// section still need filling in.
func Default() *Config {
	return &Config{
		DataDir:     DefaultDataDir,
		IdentityDir: DefaultIdentityDir,
		Listen:      Listen{Peer: DefaultPeer, Metrics: DefaultMetrics, Pprof: Off},
		Ledger:      Ledger{Backend: DefaultBackend},
		Log:         Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
	}
}
