package push

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultPublishTimeout bounds one JetStream publish, acknowledgement
// included.
const DefaultPublishTimeout = 10 * time.Second

// JetStreamConfig configures a JetStream sender. URL and Subject are
// required.
type JetStreamConfig struct {
	// URL is the NATS server list (nats://host:4222, tls://...,
	// comma-separated).
	URL string
	// Subject is where events are published; a stream of the broker must
	// capture it (the institution creates the stream, with a duplicate
	// window of its choosing).
	Subject string
	// CredsFile is a NATS credentials file (JWT and seed). Empty: none.
	CredsFile string
	// CAFile is the CA of the server's TLS certificate. Empty: the system
	// roots.
	CAFile string
	// Timeout bounds one publish. Default DefaultPublishTimeout.
	Timeout time.Duration
}

// JetStream publishes events to a NATS JetStream subject with the event id
// as the Nats-Msg-Id, so the broker itself drops a redelivered copy within
// its stream's duplicate window. It connects on first use and reconnects
// on its own.
type JetStream struct {
	cfg JetStreamConfig

	mu sync.Mutex
	nc *nats.Conn
	js jetstream.JetStream
}

var _ Sender = (*JetStream)(nil)

// NewJetStream checks cfg; the connection is made by the first Send.
func NewJetStream(cfg JetStreamConfig) (*JetStream, error) {
	switch {
	case cfg.URL == "":
		return nil, fmt.Errorf("%w: NATS URL required", ErrConfig)
	case cfg.Subject == "" || strings.ContainsAny(cfg.Subject, " \t\r\n*>"):
		return nil, fmt.Errorf("%w: NATS subject %.80q (no spaces or wildcards)", ErrConfig, cfg.Subject)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("%w: negative NATS timeout", ErrConfig)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultPublishTimeout
	}
	return &JetStream{cfg: cfg}, nil
}

func (j *JetStream) connect() (jetstream.JetStream, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.js != nil {
		return j.js, nil
	}
	opts := []nats.Option{nats.Name("riskmesh-push"), nats.MaxReconnects(-1), nats.Timeout(j.cfg.Timeout)}
	if j.cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(j.cfg.CredsFile))
	}
	if j.cfg.CAFile != "" {
		opts = append(opts, nats.RootCAs(j.cfg.CAFile))
	}
	nc, err := nats.Connect(j.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: jetstream: %w", err)
	}
	j.nc, j.js = nc, js
	return js, nil
}

// Send publishes m's body and waits for the stream's acknowledgement.
func (j *JetStream) Send(ctx context.Context, m Message) error {
	js, err := j.connect()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, j.cfg.Timeout)
	defer cancel()
	msg := nats.NewMsg(j.cfg.Subject)
	msg.Data = m.Body
	msg.Header.Set("Content-Type", "application/json")
	msg.Header.Set(HeaderEventID, m.EventID)
	if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(m.EventID)); err != nil {
		return fmt.Errorf("nats: publish: %w", err)
	}
	return nil
}

// Close closes the connection, if one was made.
func (j *JetStream) Close() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.nc != nil {
		j.nc.Close()
		j.nc, j.js = nil, nil
	}
}
