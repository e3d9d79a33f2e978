package fabric

import (
	"cmp"
	"fmt"
	"net"
	"time"
)

// Defaults of Config, written in the field comments.
const (
	DefaultChannel             = "riskmesh"
	DefaultChaincode           = "riskmesh"
	DefaultMaxInFlight         = 64
	DefaultMaxAttempts         = 5
	DefaultBackoff             = 50 * time.Millisecond
	DefaultMaxBackoff          = 2 * time.Second
	DefaultEndorseTimeout      = 30 * time.Second
	DefaultSubmitTimeout       = 10 * time.Second
	DefaultCommitStatusTimeout = time.Minute
	DefaultEvaluateTimeout     = 30 * time.Second
	// maxMessageSize bounds gRPC messages both ways: a page of entries or a
	// batch of 500 entries is well under a megabyte, Fabric's own limit is
	// 100 MB.
	maxMessageSize = 64 << 20
)

// Config is one institution's connection to its peer. MSPID, PeerAddress,
// TLSRootCert, Certificate and PrivateKey are required; every other zero
// value means the default written in its comment.
type Config struct {
	// MSPID is the institution's MSP id, e.g. "Bank1MSP".
	MSPID string
	// PeerAddress is host:port of the institution's own peer (its gateway).
	PeerAddress string
	// TLSRootCert is the PEM CA certificate that signed the peer's TLS
	// certificate.
	TLSRootCert []byte
	// ServerName overrides the TLS server name. Default: the host of
	// PeerAddress.
	ServerName string
	// Certificate and PrivateKey are the PEM X.509 certificate and PKCS#8
	// private key of the client identity that signs transactions.
	Certificate []byte
	PrivateKey  []byte
	// Channel and Chaincode name the ledger. Defaults: "riskmesh", "riskmesh".
	Channel   string
	Chaincode string
	// MaxInFlight bounds concurrent submissions of this client, including
	// their commit-status waits, which count against the peer's gateway
	// concurrency limit. Default: 64.
	MaxInFlight int
	// MaxAttempts bounds the tries of one call, retries included. Default: 5.
	MaxAttempts int
	// Backoff is the first retry delay; it doubles up to MaxBackoff, with
	// jitter. Defaults: 50ms, 2s.
	Backoff    time.Duration
	MaxBackoff time.Duration
	// Deadlines per phase, each also bounded by the caller's context.
	// Defaults: endorse 30s, submit 10s, commit status 1m, evaluate 30s.
	EndorseTimeout      time.Duration
	SubmitTimeout       time.Duration
	CommitStatusTimeout time.Duration
	EvaluateTimeout     time.Duration
}

func (c *Config) setDefaults() error {
	if c.MSPID == "" || c.PeerAddress == "" || len(c.TLSRootCert) == 0 || len(c.Certificate) == 0 || len(c.PrivateKey) == 0 {
		return fmt.Errorf("%w: MSPID, PeerAddress, TLSRootCert, Certificate and PrivateKey are required", ErrConfig)
	}
	if c.ServerName == "" {
		host, _, err := net.SplitHostPort(c.PeerAddress)
		if err != nil {
			return fmt.Errorf("%w: peer address %q: %v", ErrConfig, c.PeerAddress, err)
		}
		c.ServerName = host
	}
	c.Channel = cmp.Or(c.Channel, DefaultChannel)
	c.Chaincode = cmp.Or(c.Chaincode, DefaultChaincode)
	c.MaxInFlight = cmp.Or(c.MaxInFlight, DefaultMaxInFlight)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, DefaultMaxBackoff)
	c.EndorseTimeout = cmp.Or(c.EndorseTimeout, DefaultEndorseTimeout)
	c.SubmitTimeout = cmp.Or(c.SubmitTimeout, DefaultSubmitTimeout)
	c.CommitStatusTimeout = cmp.Or(c.CommitStatusTimeout, DefaultCommitStatusTimeout)
	c.EvaluateTimeout = cmp.Or(c.EvaluateTimeout, DefaultEvaluateTimeout)
	if c.MaxInFlight < 0 || c.MaxAttempts < 0 || c.Backoff < 0 || c.MaxBackoff < c.Backoff {
		return fmt.Errorf("%w: negative limit or MaxBackoff below Backoff", ErrConfig)
	}
	return nil
}
