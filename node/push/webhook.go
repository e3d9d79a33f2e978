package push

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultWebhookTimeout bounds one webhook request.
const DefaultWebhookTimeout = 10 * time.Second

// maxResponseBody is how much of a webhook's response is read (and
// discarded) so the connection can be reused.
const maxResponseBody = 64 << 10

// Webhook POSTs events over HTTPS, signed with HMAC-SHA256 (Sign). Build
// it with NewWebhook.
type Webhook struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

// WebhookConfig configures a Webhook. URL and Secret are required.
type WebhookConfig struct {
	// URL is the receiver's https:// address.
	URL string
	// Secret is the HMAC key the receiver verifies with, at least
	// MinSecretLen bytes.
	Secret []byte
	// TLS configures the connection, e.g. RootCAs for a receiver with a
	// private CA or a client certificate. Default: the system's roots.
	TLS *tls.Config
	// Timeout bounds one request. Default DefaultWebhookTimeout.
	Timeout time.Duration
	// Now is the signing clock. Default time.Now.
	Now func() time.Time
}

var _ Sender = (*Webhook)(nil)

// NewWebhook checks cfg and returns its Webhook.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case err != nil || u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("%w: webhook URL must be an https:// URL with a host", ErrConfig)
	case len(cfg.Secret) < MinSecretLen:
		return nil, fmt.Errorf("%w: webhook secret of %d bytes (at least %d)", ErrConfig, len(cfg.Secret), MinSecretLen)
	case cfg.Timeout < 0:
		return nil, fmt.Errorf("%w: negative webhook timeout", ErrConfig)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.TLS != nil {
		tr.TLSClientConfig = cfg.TLS.Clone()
	}
	w := &Webhook{url: cfg.URL, secret: bytes.Clone(cfg.Secret), now: cfg.Now, client: &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		// A redirect would send the signed event somewhere the operator
		// did not configure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	if w.client.Timeout == 0 {
		w.client.Timeout = DefaultWebhookTimeout
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

// Send POSTs m's body. A 2xx response acknowledges the event; 408, 429
// and 5xx are retried; any other status is ErrRejected.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(m.Body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRejected, err)
	}
	ts, sig := Sign(w.secret, w.now(), m.Body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderEventID, m.EventID)
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, sig)
	resp, err := w.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL may hold a token; the log gets the cause
		}
		return fmt.Errorf("webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("webhook: status %d", c)
	default:
		return fmt.Errorf("%w: webhook status %d", ErrRejected, c)
	}
}
