package push

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/riskmesh/riskmesh/internal/names"
)

// KafkaConfig configures a Kafka sender. Brokers and Topic are required.
type KafkaConfig struct {
	// Brokers are the seed brokers (host:port).
	Brokers []string
	// Topic is where events are produced; the institution creates it.
	Topic string
	// TLS is the connection's TLS configuration (the brokers' CA, and a
	// client certificate if the cluster asks for one); nil is plaintext,
	// which node/config allows only when the operator says so.
	TLS *tls.Config
	// User and Password, if User is set, authenticate with
	// SASL/SCRAM-SHA-512.
	User, Password string
	// Timeout bounds one produce with its acknowledgement. Default
	// DefaultPublishTimeout.
	Timeout time.Duration
}

// Kafka produces events to a Kafka topic through franz-go, keyed by the
// event's stream so that the default partitioner keeps a query's events in
// one partition, in order. Every record carries the event id in the
// HeaderEventID header. The producer is idempotent, which removes the
// duplicates of its own retries, but a copy produced again after a node
// restart is a new record: consumers drop it by the event id, as webhook
// receivers do (Kafka keeps no broker-side duplicate window like
// JetStream's).
type Kafka struct {
	cfg KafkaConfig
	cl  *kgo.Client
}

var _ Sender = (*Kafka)(nil)

// NewKafka checks cfg and makes the client; it connects on first use.
func NewKafka(cfg KafkaConfig) (*Kafka, error) {
	switch {
	case len(cfg.Brokers) == 0:
		return nil, fmt.Errorf("%w: Kafka brokers required", ErrConfig)
	case !names.KafkaTopic(cfg.Topic):
		return nil, fmt.Errorf("%w: Kafka topic %.80q (1 to %d of [A-Za-z0-9._-])", ErrConfig, cfg.Topic, names.MaxKafkaTopicLen)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("%w: negative Kafka timeout", ErrConfig)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultPublishTimeout
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.DefaultProduceTopic(cfg.Topic),
		kgo.ClientID("riskmesh-push"),
		kgo.RecordDeliveryTimeout(cfg.Timeout),
		kgo.ProducerLinger(0), // one event at a time: nothing to batch
	}
	if cfg.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(cfg.TLS.Clone()))
	}
	if cfg.User != "" {
		opts = append(opts, kgo.SASL(scram.Auth{User: cfg.User, Pass: cfg.Password}.AsSha512Mechanism()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: kafka: %v", ErrConfig, err)
	}
	return &Kafka{cfg: cfg, cl: cl}, nil
}

// Send produces m and waits until every in-sync replica has it. A record
// the broker will never take (too large, invalid) is ErrRejected.
func (k *Kafka) Send(ctx context.Context, m Message) error {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.Timeout)
	defer cancel()
	rec := &kgo.Record{Key: []byte(m.Stream), Value: m.Body, Headers: []kgo.RecordHeader{
		{Key: HeaderEventID, Value: []byte(m.EventID)},
		{Key: "Content-Type", Value: []byte("application/json")},
	}}
	err := k.cl.ProduceSync(ctx, rec).FirstErr()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge), errors.Is(err, kerr.InvalidRecord):
		return fmt.Errorf("%w: kafka: %v", ErrRejected, err)
	default:
		return fmt.Errorf("kafka: produce: %w", err)
	}
}

// Close flushes nothing (Send waits for each record) and closes the
// client.
func (k *Kafka) Close() { k.cl.Close() }
