package push

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// eventIDLabel domain-separates event ids from every other hash the node
// makes.
const eventIDLabel = "riskmesh/push/event-id/v1"

// maxStreamLen bounds a stream name: an entry stream names a period, an
// MSP id (at most 128 bytes) and a sequence number.
const maxStreamLen = 200

// MaxEventSize bounds a stored event read back and a webhook body a
// Verifier accepts. A query result of 100,000 items stays well under it.
const MaxEventSize = 64 << 20

// eventID is the idempotency key of the seq-th event of stream at node
// msp: the first 16 bytes of SHA-256 over the label and the
// length-prefixed fields, in hex.
func eventID(msp, stream string, seq uint64) string {
	h := sha256.New()
	var b []byte
	for _, f := range []string{eventIDLabel, msp, stream} {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	h.Write(binary.BigEndian.AppendUint64(b, seq))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// streamOf names ev's stream: its query id, or for a reconciliation event
// "entry/<period>/<responder>/<sequence>".
func streamOf(ev *riskmeshv1.PushEvent) string {
	if ev.QueryId != "" {
		return ev.QueryId
	}
	if k := ev.GetReconciled().GetKey(); k != nil {
		return keyStream(entryStreamPrefix, k)
	}
	if k := ev.GetDispute().GetKey(); k != nil {
		return keyStream(disputeStreamPrefix, k)
	}
	return ""
}

// The streams of a billed entry's reconciliation events and of an
// exchange's dispute events: "<prefix><period>/<responder>/<sequence>".
const (
	entryStreamPrefix   = "entry/"
	disputeStreamPrefix = "dispute/"
)

func keyStream(prefix string, k *riskmeshv1.EntryKey) string {
	return fmt.Sprintf("%s%d/%s/%d", prefix, k.Period, k.Responder, k.Sequence)
}

// entryStreamPeriod reads the period of an entry stream's name.
func entryStreamPeriod(stream []byte) (uint64, bool) {
	rest, ok := bytes.CutPrefix(stream, []byte(entryStreamPrefix))
	if !ok {
		return 0, false
	}
	num, _, ok := bytes.Cut(rest, []byte("/"))
	if !ok {
		return 0, false
	}
	p, err := strconv.ParseUint(string(num), 10, 64)
	return p, err == nil
}

// wants reports whether destination d takes ev: its type is among d's
// Events (all if none), and a query event's category among d's Categories
// (all if none; reconciliation events carry no category and pass).
func (d *Destination) wants(ev *riskmeshv1.PushEvent) bool {
	if len(d.Events) > 0 && !slices.Contains(d.Events, ev.Type) {
		return false
	}
	return ev.Category == "" || len(d.Categories) == 0 || slices.Contains(d.Categories, ev.Category)
}

// jsonOptions encode what receivers read: the proto JSON mapping of
// PushEvent, with field names as in the .proto file.
var jsonOptions = protojson.MarshalOptions{UseProtoNames: true}

// encodeJSON is an event's body on the wire.
func encodeJSON(ev *riskmeshv1.PushEvent) ([]byte, error) {
	b, err := jsonOptions.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("push: encode event %s: %w", ev.EventId, err)
	}
	return b, nil
}

// decodeStored reads an event from the journal.
func decodeStored(v []byte) (*riskmeshv1.PushEvent, error) {
	if len(v) > MaxEventSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(v))
	}
	ev := new(riskmeshv1.PushEvent)
	if err := proto.Unmarshal(v, ev); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return ev, nil
}
