package push

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// natsServer runs a real nats-server with JetStream on a free loopback
// port, its store in the test's directory, and creates a stream that
// captures subject.
func natsServer(t *testing.T, subject string) (string, jetstream.Stream) {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(s.Shutdown)
	if !s.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RISKMESH", Subjects: []string{subject}, Duplicates: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s.ClientURL(), stream
}

// streamEvents reads every message of the stream, in stream order.
func streamEvents(t *testing.T, stream jetstream.Stream, n int) []*riskmeshv1.PushEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*riskmeshv1.PushEvent
	for len(out) < n {
		msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		ev := new(riskmeshv1.PushEvent)
		if err := protojson.Unmarshal(msg.Data(), ev); err != nil {
			t.Fatal(err)
		}
		if id := msg.Headers().Get(HeaderEventID); id != ev.EventId || msg.Headers().Get(jetstream.MsgIDHeader) != ev.EventId {
			t.Fatalf("message headers %v for event %s", msg.Headers(), ev.EventId)
		}
		out = append(out, ev)
	}
	return out
}

// Events published to a real JetStream arrive in recording order with the
// event id as the message id, and a redelivered event (the node crashed
// before it recorded the acknowledgement) is dropped by the broker itself.
func TestJetStreamDelivery(t *testing.T) {
	url, stream := natsServer(t, "riskmesh.events")
	js, err := NewJetStream(JetStreamConfig{URL: url, Subject: "riskmesh.events"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(js.Close)
	o := start(t, Config{Destinations: []Destination{{Name: "nats", Sender: js}}})
	var want []*riskmeshv1.PushEvent
	for i := range 10 {
		want = append(want, record(t, o, providerPart(fmt.Sprintf("q%d", i%2), fmt.Sprintf("P%d", i), int64(i))))
	}
	got := streamEvents(t, stream, len(want))
	for i := range want {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("message %d is %v, want %v", i, got[i], want[i])
		}
	}

	// The same event sent again, as after a crash between the broker's
	// acknowledgement and the journal's commit.
	body, err := encodeJSON(want[3])
	if err != nil {
		t.Fatal(err)
	}
	if err := js.Send(context.Background(), Message{EventID: want[3].EventId, Stream: want[3].Stream, Body: body}); err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(len(want)) {
		t.Fatalf("stream holds %d messages after a redelivery, want %d", info.State.Msgs, len(want))
	}
}

// A publish to a subject no stream captures fails (the outbox retries it)
// rather than being lost in plain NATS; bad settings are refused.
func TestJetStreamWithoutStream(t *testing.T) {
	url, _ := natsServer(t, "riskmesh.events")
	js, err := NewJetStream(JetStreamConfig{URL: url, Subject: "riskmesh.other", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(js.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := js.Send(ctx, Message{EventID: "id-1", Stream: "q1", Body: []byte("{}")}); err == nil {
		t.Fatal("publish without a stream succeeded")
	}
	for name, cfg := range map[string]JetStreamConfig{
		"no url":   {Subject: "a"},
		"wildcard": {URL: url, Subject: "a.*"},
		"space":    {URL: url, Subject: "a b"},
	} {
		if _, err := NewJetStream(cfg); err == nil {
			t.Errorf("%s: NewJetStream accepted %+v", name, cfg)
		}
	}
}
