package push

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Webhook request headers (docs/api.md, "Push delivery").
const (
	// HeaderEventID carries the event id, the idempotency key.
	HeaderEventID = "RiskMesh-Event-Id"
	// HeaderTimestamp carries the signing time in decimal Unix seconds.
	HeaderTimestamp = "RiskMesh-Timestamp"
	// HeaderSignature carries "v1=" and the hex HMAC-SHA256 of
	// signedPayload under the destination's secret.
	HeaderSignature = "RiskMesh-Signature"
)

// signatureVersion prefixes the signature and its input, so a later scheme
// can never be mistaken for this one.
const signatureVersion = "v1"

// DefaultWindow is Verifier's default replay window: how far a request's
// timestamp may be from the receiver's clock.
const DefaultWindow = 5 * time.Minute

// MinSecretLen is the shortest webhook secret accepted: 32 bytes, the
// HMAC-SHA256 key size.
const MinSecretLen = 32

// signedPayload is what a webhook signature covers:
// "riskmesh-push-v1." + timestamp + "." + body. The timestamp is digits
// only, so the first dot after it ends it.
func signedPayload(ts string, body []byte) []byte {
	p := make([]byte, 0, 32+len(ts)+len(body))
	p = append(p, "riskmesh-push-"+signatureVersion+"."...)
	p = append(p, ts...)
	p = append(p, '.')
	return append(p, body...)
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(signedPayload(ts, body))
	return m.Sum(nil)
}

// Sign returns the timestamp and signature headers' values for body sent at
// t under secret.
func Sign(secret []byte, t time.Time, body []byte) (timestamp, signature string) {
	ts := strconv.FormatInt(t.Unix(), 10)
	return ts, signatureVersion + "=" + hex.EncodeToString(mac(secret, ts, body))
}

// Verifier checks webhook requests on the receiving side: a Go receiver
// uses it instead of re-implementing the scheme. The zero value verifies
// nothing; set Secrets.
type Verifier struct {
	// Secrets are the accepted secrets: the destination's secret and,
	// while it is being rotated, the previous one.
	Secrets [][]byte
	// Window is the replay window: a request whose timestamp is further
	// than this from Now is refused, so a captured request cannot be
	// replayed later. Default DefaultWindow. Within the window a replay is
	// a duplicate delivery, which the receiver discards by event id.
	Window time.Duration
	// Now is the receiver's clock. Default time.Now.
	Now func() time.Time
}

// Verify checks the signature and timestamp of a webhook request's headers
// and body (read whole, at most MaxEventSize bytes) and returns the event
// it carries. Any failure is ErrSignature or, for a signed body that does
// not decode, a decoding error; the caller answers 401 or 400, and must not
// act on the body.
func (v Verifier) Verify(h http.Header, body []byte) (*riskmeshv1.PushEvent, error) {
	if len(body) > MaxEventSize {
		return nil, fmt.Errorf("%w: body of %d bytes", ErrSignature, len(body))
	}
	ts := h.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(ts) > 19 || strings.TrimLeft(ts, "0123456789") != "" {
		return nil, fmt.Errorf("%w: malformed timestamp", ErrSignature)
	}
	window := v.Window
	if window <= 0 {
		window = DefaultWindow
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if d := now().Sub(time.Unix(sec, 0)); d > window || d < -window {
		return nil, fmt.Errorf("%w: timestamp outside the %v replay window", ErrSignature, window)
	}
	if !v.matches(h.Values(HeaderSignature), ts, body) {
		return nil, ErrSignature
	}
	ev := new(riskmeshv1.PushEvent)
	if err := protojson.Unmarshal(body, ev); err != nil {
		return nil, fmt.Errorf("push: decode event: %w", err)
	}
	if ev.EventId != h.Get(HeaderEventID) {
		return nil, fmt.Errorf("%w: event id header does not match the body", ErrSignature)
	}
	return ev, nil
}

// matches reports whether one of the "v1=" signatures in the header values
// (comma-separated) is the MAC of the payload under one of the secrets,
// comparing in constant time.
func (v Verifier) matches(values []string, ts string, body []byte) bool {
	var macs [][]byte
	for _, s := range v.Secrets {
		if len(s) > 0 {
			macs = append(macs, mac(s, ts, body))
		}
	}
	ok := false
	for _, val := range values {
		for part := range strings.SplitSeq(val, ",") {
			hexSig, found := strings.CutPrefix(strings.TrimSpace(part), signatureVersion+"=")
			sig, err := hex.DecodeString(hexSig)
			if !found || err != nil || len(sig) != sha256.Size {
				continue
			}
			for _, m := range macs {
				if hmac.Equal(sig, m) {
					ok = true
				}
			}
		}
	}
	return ok
}
