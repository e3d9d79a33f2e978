package peer

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/quic-go/quic-go"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// TestRemoteErrorTextIsPrintable: whatever text a peer puts in a refusal
// frame or a connection close, the RemoteError carries valid, printable
// UTF-8 within MaxErrorMessage bytes.
func TestRemoteErrorTextIsPrintable(t *testing.T) {
	hostile := []string{
		"a" + strings.Repeat("é", 600),      // cut at 1,024 bytes inside a rune
		"\x1b[2J\x1b]0;owned\x07\u202eevil", // terminal escapes, bidi override
		"\xff\xfe\xc3",                      // not UTF-8 (a close reason is raw bytes)
		strings.Repeat("\u009b", 2000),      // C1 controls, far past the bound
	}
	for i, text := range hostile {
		fromFrame := remoteFromFrame(&riskmeshv1.PeerError{Code: riskmeshv1.ErrorCode_ERROR_CODE_NOT_FOUND, Message: text})
		fromConn, ok := remoteFromConn(&quic.ApplicationError{Remote: true, ErrorCode: quic.ApplicationErrorCode(riskmeshv1.ErrorCode_ERROR_CODE_SUSPENDED), ErrorMessage: text})
		if !ok {
			t.Fatalf("text %d: close not recognised", i)
		}
		for _, got := range []string{fromFrame.Message, fromConn.Message, errorResponse(riskmeshv1.ErrorCode_ERROR_CODE_INTERNAL, text, 0).GetError().GetMessage()} {
			if got == "" || len(got) > riskmeshv1.MaxErrorMessage || !utf8.ValidString(got) ||
				strings.IndexFunc(got, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
				t.Errorf("text %d became %q", i, got)
			}
		}
	}
}
