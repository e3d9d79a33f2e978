package apiclient_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/node/apiclient"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// A dead event's line names its destination, id, type, stream place,
// attempts and last error; an empty list says so.
func TestWriteDeadEvents(t *testing.T) {
	var b strings.Builder
	apiclient.WriteDeadEvents(&b, nil)
	if b.String() != "no dead push events\n" {
		t.Fatalf("empty list printed %q", b.String())
	}
	b.Reset()
	apiclient.WriteDeadEvents(&b, []*riskmeshv1.DeadEvent{{Destination: "core-banking", EventId: "3f1c", Type: riskmeshv1.PushEventType_PUSH_EVENT_TYPE_QUERY_RESULT,
		Stream: "q-0001", StreamSequence: 3, Attempts: 20, LastError: "webhook: status 503", DiedAt: timestamppb.New(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))}})
	want := "core-banking 3f1c query_result q-0001 #3, 20 attempts, died 2026-12-06T09:00:00Z: webhook: status 503\n"
	if b.String() != want {
		t.Fatalf("printed %q, want %q", b.String(), want)
	}
}
