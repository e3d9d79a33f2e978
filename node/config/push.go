package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/riskmesh/riskmesh/internal/names"
)

// Push sends query events to the institution's business systems
// (node/push, docs/api.md "Push delivery"); a requester node only.
type Push struct {
	// Destinations receive the events. None: nothing is pushed.
	Destinations []PushDestination `yaml:"destinations,omitempty"`
	// MaxAttempts is how many failed deliveries of one event move it to
	// the dead store (`riskmesh push dead`). Default 20.
	MaxAttempts int `yaml:"max_attempts"`
	// MinBackoff and MaxBackoff bound the wait after a failed delivery; it
	// doubles from one to the other, with jitter. Defaults 1s, 10m.
	MinBackoff time.Duration `yaml:"min_backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// PushDestination is one receiver: exactly one of webhook, nats and kafka.
type PushDestination struct {
	// Name names it in metrics, logs and `riskmesh push`: 1 to 64 of
	// [A-Za-z0-9._-]. Required.
	Name string `yaml:"name"`
	// Events are the event types sent: provider_result, query_result,
	// query_changed, reconciled, dispute. Empty: all.
	Events []string `yaml:"events,omitempty"`
	// Categories restricts query events to these categories. Empty: all.
	Categories []string `yaml:"categories,omitempty"`

	Webhook *Webhook `yaml:"webhook,omitempty"`
	NATS    *NATS    `yaml:"nats,omitempty"`
	Kafka   *Kafka   `yaml:"kafka,omitempty"`
}

// Webhook is an HTTPS endpoint that receives signed POSTs.
type Webhook struct {
	// URL is the https:// address. Required.
	URL string `yaml:"url"`
	// SecretFile holds the HMAC secret (at least 32 bytes; surrounding
	// white space is ignored); mode 0600. Required.
	SecretFile string `yaml:"secret_file"`
	// CAFile is the CA of the receiver's certificate. Default: the
	// system's roots.
	CAFile string `yaml:"ca_file,omitempty"`
	// Timeout bounds one request. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// NATS is a NATS JetStream subject.
type NATS struct {
	// URL is the server list (nats://host:4222, tls://...). Required.
	URL string `yaml:"url"`
	// Subject is the subject published to; a JetStream stream must
	// capture it. Required.
	Subject string `yaml:"subject"`
	// CredsFile is a NATS credentials file (JWT and seed); mode 0600.
	// Empty: none.
	CredsFile string `yaml:"creds_file,omitempty"`
	// CAFile is the CA of the server's TLS certificate. Default: the
	// system's roots.
	CAFile string `yaml:"ca_file,omitempty"`
	// Timeout bounds one publish with its acknowledgement. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// Kafka is a Kafka topic.
type Kafka struct {
	// Brokers are the seed brokers (host:port). Required.
	Brokers []string `yaml:"brokers"`
	// Topic is the topic produced to; the institution creates it.
	// Required.
	Topic string `yaml:"topic"`
	// CAFile is the CA of the brokers' TLS certificates. Default: the
	// system's roots.
	CAFile string `yaml:"ca_file,omitempty"`
	// CertFile and KeyFile are a client certificate for clusters that
	// require one (key mode 0600). Both or neither.
	CertFile string `yaml:"cert_file,omitempty"`
	KeyFile  string `yaml:"key_file,omitempty"`
	// Plaintext turns TLS off: only for a broker on the same host or a
	// network the institution trusts.
	Plaintext bool `yaml:"plaintext,omitempty"`
	// User and PasswordFile, if User is set, authenticate with
	// SASL/SCRAM-SHA-512 (password file mode 0600).
	User         string `yaml:"user,omitempty"`
	PasswordFile string `yaml:"password_file,omitempty"`
	// Timeout bounds one produce with its acknowledgement. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// PushEventNames are the values of push.destinations[].events.
var PushEventNames = []string{"provider_result", "query_result", "query_changed", "reconciled", "dispute"}

func (p *Push) resolve(abs func(*string)) {
	for i := range p.Destinations {
		d := &p.Destinations[i]
		if w := d.Webhook; w != nil {
			abs(&w.SecretFile)
			abs(&w.CAFile)
		}
		if n := d.NATS; n != nil {
			abs(&n.CredsFile)
			abs(&n.CAFile)
		}
		if k := d.Kafka; k != nil {
			abs(&k.CAFile)
			abs(&k.CertFile)
			abs(&k.KeyFile)
			abs(&k.PasswordFile)
		}
	}
}

func (cfg *Config) validatePush(c *checker) {
	p := cfg.Push
	c.nonNegative("push.max_attempts", int64(p.MaxAttempts))
	c.durations("push", map[string]time.Duration{"min_backoff": p.MinBackoff, "max_backoff": p.MaxBackoff})
	if len(p.Destinations) > 0 && cfg.Ledger.Backend == BackendEmbedded {
		c.fail("push.destinations", "the node hosting the embedded ledger does not query, so it has no events to push")
	}
	seen := map[string]bool{}
	for i, d := range p.Destinations {
		key := fmt.Sprintf("push.destinations[%d]", i)
		switch {
		case !names.Category(d.Name):
			c.fail(key+".name", "%q: 1 to 64 of [A-Za-z0-9._-]", d.Name)
		case seen[d.Name]:
			c.fail(key+".name", "%q used by an earlier destination", d.Name)
		}
		seen[d.Name] = true
		for j, e := range d.Events {
			if !slices.Contains(PushEventNames, e) {
				c.fail(fmt.Sprintf("%s.events[%d]", key, j), "%q is not one of %s", e, strings.Join(PushEventNames, ", "))
			}
		}
		for j, cat := range d.Categories {
			if !names.Category(cat) {
				c.fail(fmt.Sprintf("%s.categories[%d]", key, j), "%q is not a category name", cat)
			}
		}
		set := 0
		for _, on := range []bool{d.Webhook != nil, d.NATS != nil, d.Kafka != nil} {
			if on {
				set++
			}
		}
		switch {
		case set != 1:
			c.fail(key, "exactly one of webhook, nats and kafka is required")
		case d.Webhook != nil:
			w := d.Webhook
			if u, err := url.Parse(w.URL); err != nil || u.Scheme != "https" || u.Host == "" {
				c.fail(key+".webhook.url", "must be an https:// URL")
			}
			c.required(key+".webhook.secret_file", w.SecretFile)
			c.nonNegative(key+".webhook.timeout", int64(w.Timeout))
		case d.Kafka != nil:
			validateKafka(c, key+".kafka", d.Kafka)
		default:
			n := d.NATS
			c.required(key+".nats.url", n.URL)
			if c.required(key+".nats.subject", n.Subject) && strings.ContainsAny(n.Subject, " \t\r\n*>") {
				c.fail(key+".nats.subject", "%q: no spaces or wildcards", n.Subject)
			}
			c.nonNegative(key+".nats.timeout", int64(n.Timeout))
		}
	}
}

func validateKafka(c *checker, key string, k *Kafka) {
	if len(k.Brokers) == 0 {
		c.fail(key+".brokers", "at least one host:port is required")
	}
	for i, b := range k.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			c.fail(fmt.Sprintf("%s.brokers[%d]", key, i), "%q is not host:port", b)
		}
	}
	if c.required(key+".topic", k.Topic) && !names.KafkaTopic(k.Topic) {
		c.fail(key+".topic", "%q: 1 to 249 of [A-Za-z0-9._-]", k.Topic)
	}
	if (k.CertFile == "") != (k.KeyFile == "") {
		c.fail(key, "cert_file and key_file go together")
	}
	if k.Plaintext && (k.CAFile != "" || k.CertFile != "") {
		c.fail(key+".plaintext", "plaintext with TLS files set")
	}
	if k.User != "" {
		c.required(key+".password_file", k.PasswordFile)
	} else if k.PasswordFile != "" {
		c.fail(key+".user", "password_file set without a user")
	}
	c.nonNegative(key+".timeout", int64(k.Timeout))
}
