package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/node/adversary"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// TestAdversaryQueryAbsenceIsNotAMiss: riskmesh query against a real node
// says "no hit" only when every provider asked answered. An unknown
// provider, a provider that did not answer or the only lister being down
// make the line say how many answered, the JSON say "partial" or "none",
// and the exit status 3 or 4. A provider's hostile error text is printed
// without its control characters.
func TestAdversaryQueryAbsenceIsNotAMiss(t *testing.T) {
	n := adversary.Start(t, adversary.Config{Listings: [][]int{{1}, {}}})
	listed, unlisted := "phone:"+adversary.Phone(1), "phone:"+adversary.Phone(5)
	query := func(t *testing.T, args ...string) (string, int) {
		t.Helper()
		out, err := runRoot(t, append([]string{"query", "--api", "unix://" + n.Socket, "--category", adversary.Category}, args...)...)
		var ee *exitError
		switch {
		case err == nil:
			return out, 0
		case errors.As(err, &ee):
			return out, ee.code
		}
		t.Fatalf("query: %v\n%s", err, out)
		return "", 0
	}
	expect := func(t *testing.T, out string, code, wantCode int, want ...string) {
		t.Helper()
		if code != wantCode {
			t.Errorf("exit status %d, want %d", code, wantCode)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}

	t.Run("every provider answered", func(t *testing.T) {
		out, code := query(t, listed, unlisted)
		expect(t, out, code, 0, unlisted+"\tno hit\n", listed+"\thit P1MSP")
	})
	t.Run("hostile error text", func(t *testing.T) {
		n.Providers[1].Intercept(func(_ context.Context, req *riskmeshv1.PeerRequest) *riskmeshv1.PeerResponse {
			if req.GetEvaluate() == nil {
				return nil
			}
			return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_Error{Error: &riskmeshv1.PeerError{
				Code: riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, Message: "\x1b[2J\x1b]0;owned\x07\u202e" + strings.Repeat("é", 600),
			}}}
		})
		defer n.Providers[1].Intercept(nil)
		out, code := query(t, listed, unlisted)
		expect(t, out, code, exitSomeUnanswered, unlisted+"\tunknown: no hit at 1 of 2 providers, 1 did not answer", `\x1b[2J`)
		if strings.ContainsAny(out, "\x1b\x07\u202e") {
			t.Errorf("control characters printed:\n%q", out)
		}
	})
	t.Run("unknown provider", func(t *testing.T) {
		out, code := query(t, "--provider", "NoSuchMSP", listed, unlisted)
		expect(t, out, code, exitNoneAnswered, listed+"\tunknown: no provider answered", unlisted+"\tunknown: no provider answered")
		if strings.Contains(out, "no hit") {
			t.Errorf("absence printed as a miss:\n%s", out)
		}
		out, code = query(t, "--json", "--provider", "NoSuchMSP", "--provider", "P1MSP", listed, unlisted)
		var doc struct {
			Outcome    string   `json:"outcome"`
			Unanswered []string `json:"unanswered_providers"`
			Items      []any    `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("--json: %v\n%s", err, out)
		}
		if code != exitSomeUnanswered || doc.Outcome != "partial" || strings.Join(doc.Unanswered, ",") != "NoSuchMSP" || len(doc.Items) != 2 {
			t.Errorf("--json: exit %d, %+v", code, doc)
		}
	})
	t.Run("only lister down", func(t *testing.T) {
		n.Providers[0].Stop()
		out, code := query(t, "--provider", "P1MSP", "--deadline", "1s", listed)
		expect(t, out, code, exitNoneAnswered, listed+"\tunknown: no provider answered", "provider P1MSP: unavailable")
		if strings.Contains(out, "no hit") {
			t.Errorf("absence printed as a miss:\n%s", out)
		}
	})
}
