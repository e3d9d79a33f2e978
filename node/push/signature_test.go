package push

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// signedRequest is a webhook request's headers for body, as Webhook sends
// them at t.
func signedRequest(t testing.TB, secret []byte, at time.Time, id string, body []byte) http.Header {
	t.Helper()
	ts, sig := Sign(secret, at, body)
	h := http.Header{}
	h.Set(HeaderEventID, id)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, sig)
	return h
}

// A third party posting to a business system's webhook, without the
// destination's secret, cannot make it accept an event: not a forged one,
// not a captured one altered or replayed after the window.
func TestAdversaryWebhookForgery(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ev := providerPart("q1", "P1", 5)
	ev.EventId = eventID("BankA", "q1", 1)
	body, err := encodeJSON(ev)
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Replace(body, []byte(`"amount":"5"`), []byte(`"amount":"0"`), 1)
	if bytes.Equal(altered, body) {
		t.Fatal("the test's alteration changed nothing")
	}
	other := bytes.Repeat([]byte{1}, MinSecretLen)
	v := Verifier{Secrets: [][]byte{testSecret}, Now: func() time.Time { return now }}
	for _, tc := range []struct {
		name string
		h    http.Header
		body []byte
	}{
		{"signed with another secret", signedRequest(t, other, now, ev.EventId, body), body},
		{"body altered", signedRequest(t, testSecret, now, ev.EventId, body), altered},
		{"replayed after the window", signedRequest(t, testSecret, now.Add(-DefaultWindow-time.Second), ev.EventId, body), body},
		{"dated in the future", signedRequest(t, testSecret, now.Add(DefaultWindow+time.Second), ev.EventId, body), body},
		{"event id header swapped", signedRequest(t, testSecret, now, eventID("BankA", "q1", 2), body), body},
		{"timestamp altered", func() http.Header {
			h := signedRequest(t, testSecret, now, ev.EventId, body)
			h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10))
			return h
		}(), body},
		{"no signature", func() http.Header {
			h := signedRequest(t, testSecret, now, ev.EventId, body)
			h.Del(HeaderSignature)
			return h
		}(), body},
		{"signed timestamp with a sign", signedRequest(t, testSecret, now, ev.EventId, body), body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "signed timestamp with a sign" {
				ts := "+" + tc.h.Get(HeaderTimestamp)
				tc.h.Set(HeaderTimestamp, ts)
				tc.h.Set(HeaderSignature, "v1="+macHex(testSecret, ts, body))
			}
			if got, err := v.Verify(tc.h, tc.body); !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify = %v, %v; want ErrSignature", got, err)
			}
		})
	}
	t.Run("genuine within the window, during a secret rotation", func(t *testing.T) {
		rotating := Verifier{Secrets: [][]byte{other, testSecret}, Now: func() time.Time { return now.Add(DefaultWindow) }}
		got, err := rotating.Verify(signedRequest(t, testSecret, now, ev.EventId, body), body)
		if err != nil || got.EventId != ev.EventId || got.ProviderResult.GetAmount() != 5 {
			t.Fatalf("Verify = %v, %v", got, err)
		}
	})
}

func macHex(secret []byte, ts string, body []byte) string {
	const digits = "0123456789abcdef"
	m := mac(secret, ts, body)
	out := make([]byte, 0, 2*len(m))
	for _, b := range m {
		out = append(out, digits[b>>4], digits[b&15])
	}
	return string(out)
}

// FuzzVerify: whatever the body and headers, Verify never panics; a body
// signed with the secret verifies (if it is an event), and any change of
// one byte of it does not.
func FuzzVerify(f *testing.F) {
	ev, _ := encodeJSON(&riskmeshv1.PushEvent{EventId: "abc", QueryId: "q1", StreamSequence: 3})
	f.Add(ev, "1800000000", "v1=00", uint(3))
	f.Add([]byte("{}"), "-1", "v1=zz,v1=", uint(0))
	f.Add([]byte("not json"), "99999999999999999999", "", uint(1))
	f.Fuzz(func(t *testing.T, body []byte, ts, sig string, flip uint) {
		now := time.Unix(1_800_000_000, 0)
		v := Verifier{Secrets: [][]byte{testSecret}, Now: func() time.Time { return now }}
		h := http.Header{}
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		if _, err := v.Verify(h, body); err == nil && sig != "" {
			if _, genuine := Sign(testSecret, now, body); genuine != sig {
				t.Fatalf("a signature not made with the secret verified: %q", sig)
			}
		}
		// A genuine signature is refused only for an event id that is
		// not the header's (empty here).
		h = signedRequest(t, testSecret, now, "", body)
		if _, err := v.Verify(h, body); errors.Is(err, ErrSignature) {
			if e := new(riskmeshv1.PushEvent); protojson.Unmarshal(body, e) == nil && e.EventId == "" {
				t.Fatalf("a genuine signature was refused: %v", err)
			}
		}
		if len(body) == 0 {
			return
		}
		changed := bytes.Clone(body)
		changed[flip%uint(len(body))] ^= 1
		if _, err := v.Verify(h, changed); !errors.Is(err, ErrSignature) {
			t.Fatalf("a changed body passed the signature check: %v", err)
		}
	})
}
