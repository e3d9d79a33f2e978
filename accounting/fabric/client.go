package fabric

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/backoff"
)

// Client is accounting.Ledger over a Fabric network, acting as one
// institution. It is safe for concurrent use; Close releases the connection.
type Client struct {
	*accounting.Client // the Ledger methods, over this Client's Invoker

	cfg      Config
	conn     *grpc.ClientConn
	gw       *client.Gateway
	contract *client.Contract
	inFlight chan struct{}

	closeOnce sync.Once
	// life ends on Close: calls waiting for a slot or between retries
	// stop then with ErrClosed.
	life context.Context
	end  context.CancelFunc
}

// Client is also the accounting.Invoker under its Ledger methods: Submit and
// Evaluate are raw contract calls by function name with JSON arguments.
var (
	_ accounting.Ledger  = (*Client)(nil)
	_ accounting.Invoker = (*Client)(nil)
)

// New connects to the institution's peer. The connection is established
// lazily by gRPC; the first call reports an unreachable peer.
func New(cfg Config) (*Client, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	cert, err := identity.CertificateFromPEM(cfg.Certificate)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrConfig, err)
	}
	id, err := identity.NewX509Identity(cfg.MSPID, cert)
	if err != nil {
		return nil, fmt.Errorf("%w: identity: %v", ErrConfig, err)
	}
	key, err := identity.PrivateKeyFromPEM(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%w: private key: %v", ErrConfig, err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, fmt.Errorf("%w: signer: %v", ErrConfig, err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(cfg.TLSRootCert) {
		return nil, fmt.Errorf("%w: no certificate in TLSRootCert", ErrConfig)
	}
	conn, err := grpc.NewClient(cfg.PeerAddress,
		grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(roots, cfg.ServerName)),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
	)
	if err != nil {
		return nil, fmt.Errorf("fabric: dial %s: %w", cfg.PeerAddress, err)
	}
	// The per-phase deadlines are applied by this package on every call;
	// the gateway's own defaults stay as a backstop.
	gw, err := client.Connect(id, client.WithSign(sign), client.WithClientConnection(conn))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("fabric: gateway: %w", err)
	}
	c := &Client{
		cfg:      cfg,
		conn:     conn,
		gw:       gw,
		contract: gw.GetNetwork(cfg.Channel).GetContract(cfg.Chaincode),
		inFlight: make(chan struct{}, cfg.MaxInFlight),
	}
	c.life, c.end = context.WithCancel(context.Background())
	c.Client = accounting.NewClient(c)
	return c, nil
}

// MSPID returns the institution this client acts as.
func (c *Client) MSPID() string { return c.cfg.MSPID }

// Close closes the connection; calls in progress fail. Safe to call twice.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.end()
		err = errors.Join(c.gw.Close(), c.conn.Close())
	})
	return err
}

// Submit runs fn as a transaction and returns its result once the
// transaction is committed and valid.
func (c *Client) Submit(ctx context.Context, fn string, arg []byte) ([]byte, error) {
	select {
	case c.inFlight <- struct{}{}:
		defer func() { <-c.inFlight }()
	case <-c.life.Done():
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var result []byte
	err := c.retry(ctx, func(attempt int) (bool, error) {
		var retry bool
		var err error
		result, retry, err = c.submitOnce(ctx, fn, arg)
		return retry, err
	})
	return result, err
}

// submitOnce endorses, submits and waits for one transaction. retry reports
// whether a new transaction may succeed where this one failed.
func (c *Client) submitOnce(ctx context.Context, fn string, arg []byte) (result []byte, retry bool, err error) {
	proposal, err := c.contract.NewProposal(fn, client.WithBytesArguments(arg))
	if err != nil {
		return nil, false, fmt.Errorf("fabric: build proposal for %s: %w", fn, err)
	}
	txID := proposal.TransactionID()

	ectx, cancel := context.WithTimeout(ctx, c.cfg.EndorseTimeout)
	tx, err := proposal.EndorseWithContext(ectx)
	cancel()
	if err != nil {
		return nil, transient(err) || isEndorsementShortfall(err), c.callError(PhaseEndorse, txID, err)
	}

	// The same signed transaction may be sent again: if the first attempt
	// did reach the orderer, the copy is invalidated as a duplicate and the
	// status below is the first one's.
	var commit *client.Commit
	err = c.retry(ctx, func(int) (bool, error) {
		sctx, cancel := context.WithTimeout(ctx, c.cfg.SubmitTimeout)
		defer cancel()
		var err error
		commit, err = tx.SubmitWithContext(sctx)
		if err != nil {
			return transient(err), c.callError(PhaseSubmit, txID, err)
		}
		return false, nil
	})
	if err != nil {
		return nil, false, err
	}

	var st *client.Status
	err = c.retry(ctx, func(int) (bool, error) {
		cctx, cancel := context.WithTimeout(ctx, c.cfg.CommitStatusTimeout)
		defer cancel()
		var err error
		st, err = commit.StatusWithContext(cctx)
		if err != nil {
			return transient(err), c.callError(PhaseCommitStatus, txID, err)
		}
		return false, nil
	})
	if err != nil {
		return nil, false, err
	}
	if !st.Successful {
		return nil, isConflict(st.Code), &TxError{
			TxID: txID, Phase: PhaseCommit, ValidationCode: st.Code, Attempts: 1,
			Err: fmt.Errorf("transaction %s is invalid: %s (block %d)", txID, st.Code, st.BlockNumber),
		}
	}
	return tx.Result(), false, nil
}

// Evaluate runs fn as a query on the institution's peer (or another the
// gateway picks) without submitting anything.
func (c *Client) Evaluate(ctx context.Context, fn string, arg []byte) ([]byte, error) {
	if c.life.Err() != nil {
		return nil, ErrClosed
	}
	var result []byte
	err := c.retry(ctx, func(int) (bool, error) {
		proposal, err := c.contract.NewProposal(fn, client.WithBytesArguments(arg))
		if err != nil {
			return false, fmt.Errorf("fabric: build proposal for %s: %w", fn, err)
		}
		ectx, cancel := context.WithTimeout(ctx, c.cfg.EvaluateTimeout)
		defer cancel()
		result, err = proposal.EvaluateWithContext(ectx)
		if err != nil {
			return transient(err), c.callError(PhaseEvaluate, proposal.TransactionID(), err)
		}
		return false, nil
	})
	return result, err
}

// callError wraps a gateway error of one phase, as a contract rejection
// (*accounting.Error) if the chaincode rejected the call.
func (c *Client) callError(phase Phase, txID string, err error) error {
	txErr := &TxError{TxID: txID, Phase: phase, GRPCCode: status.Code(err), Attempts: 1, Err: err}
	if (phase == PhaseEndorse || phase == PhaseEvaluate) && !isEndorsementShortfall(err) {
		if ae, ok := contractError(txErr); ok {
			return ae
		}
	}
	return txErr
}

// retry runs op until it succeeds, fails without asking for a retry, or has
// run MaxAttempts times, sleeping with exponential back-off and jitter in
// between (package backoff). The attempt count is recorded in a returned
// *TxError.
func (c *Client) retry(ctx context.Context, op func(attempt int) (retry bool, err error)) error {
	for attempt := 1; ; attempt++ {
		again, err := op(attempt)
		if err == nil {
			return nil
		}
		if !again || attempt >= c.cfg.MaxAttempts {
			var txErr *TxError
			if errors.As(err, &txErr) {
				txErr.Attempts = attempt
			}
			return err
		}
		// Jitter keeps conflicting retries apart.
		delay := backoff.Jitter(backoff.Delay(c.cfg.Backoff, c.cfg.MaxBackoff, attempt))
		if werr := c.sleep(ctx, delay); werr != nil {
			return errors.Join(err, werr)
		}
	}
}

// sleep waits d, or until ctx ends (returning its error) or the client is
// closed (ErrClosed).
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	wait, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.life, cancel)
	defer stop()
	if backoff.Sleep(wait, d) == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return ErrClosed
}
