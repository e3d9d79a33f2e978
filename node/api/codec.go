package api

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Decoding a request costs far more memory than its wire size when it is
// made of many tiny elements: an empty Identifier is 2 bytes on the wire
// and about 80 bytes decoded (its struct and its slot in the slice), so a
// request at MaxRecvSize would decode to gigabytes before checkQuery could
// count its identifiers. The server's codec therefore counts a request's
// elements on the wire, with protowire and without allocating, and decodes
// only a request within its element budget.

// Element budgets (see elementBudget).
const (
	// perIdentifier is an Identifier's elements in a QueryRequest: the
	// list element, its type and its value.
	perIdentifier = 3
	// perOutcome is a HitFeedback's elements in a ReportOutcomesRequest:
	// the list element, its index and its outcome.
	perOutcome = 3
	// fixedElements covers a request's other fields (category, deadline
	// and its two fields, client_request_id, ...) with room to spare.
	fixedElements = 64
	// DefaultMaxElements bounds the elements of every request other than
	// Query's: far more than any of them needs (RefreshLists names list
	// sources, ImportList one file).
	DefaultMaxElements = 4096
)

// boundedCodec is the server's codec: protobuf, refusing a request whose
// elements exceed its budget before decoding it.
type boundedCodec struct {
	encoding.CodecV2 // the protobuf codec, for Marshal
	budget           func(proto.Message) int
}

func newBoundedCodec(budget func(proto.Message) int) *boundedCodec {
	return &boundedCodec{CodecV2: encoding.GetCodecV2(grpcproto.Name), budget: budget}
}

// Unmarshal counts the elements of data as the message v describes and
// decodes it only within the budget. gRPC fails the call with INTERNAL
// whatever a codec's error, so a refusal reaches the caller as INTERNAL
// with this message: "request has too many elements".
func (c *boundedCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("api: cannot decode %T", v)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	b := buf.ReadOnlyData()
	limit := c.budget(m)
	if _, err := countElements(m.ProtoReflect().Descriptor(), b, limit); err != nil {
		return fmt.Errorf("api: %s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return proto.Unmarshal(b, m)
}

// errTooManyElements is countElements' refusal.
var errTooManyElements = errors.New("request has too many elements")

// countElements returns the number of fields in b, a message of type md,
// counting those of nested messages and each element of a packed list, and
// fails once the count passes limit or b is not well-formed protobuf. It
// allocates nothing, so it runs before a decode that would.
func countElements(md protoreflect.MessageDescriptor, b []byte, limit int) (int, error) {
	n := 0
	for len(b) > 0 {
		num, typ, tagLen := protowire.ConsumeTag(b)
		if tagLen < 0 {
			return n, protowire.ParseError(tagLen)
		}
		valLen := protowire.ConsumeFieldValue(num, typ, b[tagLen:])
		if valLen < 0 {
			return n, protowire.ParseError(valLen)
		}
		val := b[tagLen : tagLen+valLen]
		b = b[tagLen+valLen:]
		if n++; n > limit {
			return n, fmt.Errorf("%w (more than %d)", errTooManyElements, limit)
		}
		fd := md.Fields().ByNumber(num)
		if fd == nil || typ != protowire.BytesType {
			continue // unknown fields are kept as bytes: no more than their size
		}
		inner := 0
		switch {
		case fd.Kind() == protoreflect.MessageKind:
			v, _ := protowire.ConsumeBytes(val)
			var err error
			if inner, err = countElements(fd.Message(), v, limit-n); err != nil {
				return n + inner, err
			}
		case fd.IsList() && fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind:
			v, _ := protowire.ConsumeBytes(val)
			inner = packedLen(v)
		}
		if n += inner; n > limit {
			return n, fmt.Errorf("%w (more than %d)", errTooManyElements, limit)
		}
	}
	return n, nil
}

// packedLen is the number of elements of a packed list, counted as
// varints: fixed-width elements are at least a byte each, so never more.
func packedLen(b []byte) int {
	n := 0
	for len(b) > 0 {
		_, l := protowire.ConsumeVarint(b)
		if l < 0 {
			return n + len(b)
		}
		b = b[l:]
		n++
	}
	return n
}

// elementBudget is the most elements a request may carry: a Query's
// identifiers and providers at their limits, and DefaultMaxElements for
// every other request.
func (s *Service) elementBudget(m proto.Message) int {
	switch m.(type) {
	case *riskmeshv1.QueryRequest:
		return perIdentifier*s.cfg.MaxIdentifiers + s.cfg.MaxProviders + fixedElements
	case *riskmeshv1.ReportOutcomesRequest: // one outcome per identifier at most
		return perOutcome*s.cfg.MaxIdentifiers + fixedElements
	}
	return DefaultMaxElements
}
