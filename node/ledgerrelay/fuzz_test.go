package ledgerrelay

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/chaincode"
	"github.com/riskmesh/riskmesh/node/peer"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// FuzzHandler sends arbitrary relayed calls to a real embedded ledger as an
// onboarded bank. Whatever the input, the handler answers (never panics),
// its answer encodes within the response bound, and a failure is either a
// contract rejection whose message carries the contract's error form or an
// UNAVAILABLE, never an unclassified internal failure.
func FuzzHandler(f *testing.F) {
	store, err := accounting.OpenEmbedded(filepath.Join(f.TempDir(), "ledger.db"), accounting.EmbeddedConfig{})
	if err != nil {
		f.Fatal(err)
	}
	defer store.Close()
	reg, err := store.As(accounting.DefaultRegulator)
	if err != nil {
		f.Fatal(err)
	}
	if err := reg.AddInstitution(context.Background(), "Bank1MSP", "Bank One", []accounting.Role{accounting.RoleProvider}); err != nil {
		f.Fatal(err)
	}
	fns := chaincode.Functions()
	for i, fn := range fns {
		f.Add(uint8(i), !chaincode.IsQuery(fn), []byte(`{}`))
	}
	f.Add(uint8(slices.Index(fns, chaincode.FnRecord)), true, []byte(`[{"header":"AQI=","amount":3}]`))
	f.Add(uint8(slices.Index(fns, chaincode.FnUpdateProfile)), true, []byte(`{"endpoint":"b:1","tlsFingerprint":"AAAA"}`))
	f.Add(uint8(slices.Index(fns, chaincode.FnGetCatalog)), false, []byte(`{"mspId":"Bank1MSP","category":"c","period":1}`))
	f.Add(uint8(255), false, []byte(`null`))
	h := NewHandler(store, nil)
	from := peer.Identity{MSPID: "Bank1MSP"}
	f.Fuzz(func(t *testing.T, fnIndex uint8, submit bool, arg []byte) {
		fn := "Unknown"
		if int(fnIndex) < len(fns) {
			fn = fns[fnIndex]
		}
		req := &riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_LedgerInvoke{
			LedgerInvoke: &riskmeshv1.LedgerInvoke{Function: fn, Submit: submit, Argument: arg},
		}}
		resp := h(context.Background(), from, req.GetLedgerInvoke())
		enc, err := proto.Marshal(resp)
		if err != nil {
			t.Fatalf("answer does not encode: %v", err)
		}
		if len(enc) > riskmeshv1.MaxResponseSize(req) {
			t.Fatalf("%d-byte answer exceeds the response bound", len(enc))
		}
		switch b := resp.GetBody().(type) {
		case *riskmeshv1.PeerResponse_LedgerResult:
		case *riskmeshv1.PeerResponse_Error:
			if b.Error.GetCode() != riskmeshv1.ErrorCode_ERROR_CODE_LEDGER_REJECTED {
				t.Fatalf("%s failed unclassified: %v", fn, b.Error)
			}
			if _, ok := accounting.ParseError(b.Error.GetMessage()); !ok {
				t.Fatalf("rejection %q carries no contract error", b.Error.GetMessage())
			}
		default:
			t.Fatalf("answer body %T", b)
		}
	})
}

// A contract rejection whose detail echoes a caller's bytes (line breaks,
// an escape sequence, invalid UTF-8, far too long) leaves the relay as one
// printable, valid, bounded line that still parses as the contract's
// error with its code.
func TestRejectedTextIsPrintable(t *testing.T) {
	detail := "mspId \"A\nB\x1b[31m\xff\" " + strings.Repeat("x", 2*riskmeshv1.MaxErrorMessage)
	msg := rejected(chaincode.CodeConflict, detail).GetError().GetMessage()
	if len(msg) > riskmeshv1.MaxErrorMessage || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\x1b") {
		t.Fatalf("relayed text %q", msg)
	}
	if e, ok := accounting.ParseError(msg); !ok || e.Code != chaincode.CodeConflict {
		t.Fatalf("ParseError(%q) = %v, %v", msg, e, ok)
	}
}
