package push

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/riskmesh/riskmesh/internal/selfsigned"
	"github.com/riskmesh/riskmesh/internal/testwait"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// These tests run against kfake, franz-go's in-process Kafka cluster: it
// speaks the Kafka wire protocol (produce, fetch, SASL/SCRAM, TLS) to the
// real client, but it is not Apache Kafka (no replication, no disk), so
// what they show is the client's use of the protocol, not a broker's
// durability (docs/api.md says so).

const (
	kafkaTopic = "riskmesh-events"
	kafkaUser  = "riskmesh"
	kafkaPass  = "correct horse battery staple"
)

// kafkaCert is a broker certificate for 127.0.0.1 and the client TLS
// configuration that trusts it.
func kafkaCert(t *testing.T) (tls.Certificate, *tls.Config) {
	t.Helper()
	cert, err := selfsigned.New("kafka", []string{"127.0.0.1"}, rand.Reader, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	return cert, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}

// kafkaCluster starts a kfake cluster with TLS (cert) and SCRAM-SHA-512 on
// port (0: a free one), the topic seeded with three partitions.
func kafkaCluster(t *testing.T, port int, cert tls.Certificate) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(3, kafkaTopic),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", kafkaUser, kafkaPass),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newKafka(t *testing.T, brokers []string, client *tls.Config, pass string) *Kafka {
	t.Helper()
	k, err := NewKafka(KafkaConfig{Brokers: brokers, Topic: kafkaTopic, TLS: client, User: kafkaUser, Password: pass, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

// kafkaRecords reads n records of the topic from the start, each decoded
// and checked against its key and headers, grouped by partition in offset
// order.
func kafkaRecords(t *testing.T, brokers []string, client *tls.Config, n int) map[int32][]*riskmeshv1.PushEvent {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DialTLSConfig(client),
		kgo.SASL(scram.Auth{User: kafkaUser, Pass: kafkaPass}.AsSha512Mechanism()),
		kgo.ConsumeTopics(kafkaTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, got := map[int32][]*riskmeshv1.PushEvent{}, 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if errs := fs.Errors(); len(errs) > 0 {
			t.Fatalf("after %d records: %v", got, errs[0].Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			ev := new(riskmeshv1.PushEvent)
			if err := protojson.Unmarshal(r.Value, ev); err != nil {
				t.Fatal(err)
			}
			var id string
			for _, h := range r.Headers {
				if h.Key == HeaderEventID {
					id = string(h.Value)
				}
			}
			if id != ev.EventId || string(r.Key) != ev.Stream {
				t.Fatalf("record key %q, event id header %q for event %s of stream %s", r.Key, id, ev.EventId, ev.Stream)
			}
			out[r.Partition] = append(out[r.Partition], ev)
			got++
		})
	}
	return out
}

// Events produced to Kafka over TLS with SCRAM arrive once each, a
// query's events in one partition in recording order, with the event id in
// a header; a wrong password is an error the outbox retries, not a loss.
func TestKafkaDelivery(t *testing.T) {
	cert, client := kafkaCert(t)
	brokers := kafkaCluster(t, 0, cert).ListenAddrs()
	o := start(t, Config{Destinations: []Destination{{Name: "kafka", Sender: newKafka(t, brokers, client, kafkaPass)}}})
	want := map[string]*riskmeshv1.PushEvent{}
	for i := range 12 {
		ev := record(t, o, providerPart(fmt.Sprintf("q%d", i%4), fmt.Sprintf("P%d", i), int64(i)))
		want[ev.EventId] = ev
	}
	byPartition := kafkaRecords(t, brokers, client, len(want))
	streams := map[string]int32{}
	for p, evs := range byPartition {
		last := map[string]uint64{}
		for _, ev := range evs {
			if w, ok := want[ev.EventId]; !ok || !proto.Equal(ev, w) {
				t.Fatalf("record %v is not one recorded", ev)
			}
			delete(want, ev.EventId)
			if q, seen := streams[ev.Stream]; seen && q != p {
				t.Fatalf("stream %s in partitions %d and %d", ev.Stream, q, p)
			}
			streams[ev.Stream] = p
			if ev.StreamSequence != last[ev.Stream]+1 {
				t.Fatalf("stream %s: sequence %d after %d in partition %d", ev.Stream, ev.StreamSequence, last[ev.Stream], p)
			}
			last[ev.Stream] = ev.StreamSequence
		}
	}
	if len(want) != 0 {
		t.Fatalf("%d events never arrived", len(want))
	}

	wrong := newKafka(t, brokers, client, "wrong")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := wrong.Send(ctx, Message{EventID: "id", Stream: "q9", Body: []byte("{}")}); err == nil {
		t.Fatal("produce with a wrong password succeeded")
	}
}

// Events recorded while the broker is down are retried and arrive once it
// is back, in order.
func TestKafkaBrokerOutage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	brokers := []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	cert, client := kafkaCert(t)
	kafkaCluster(t, port, cert).Close()

	k := newKafka(t, brokers, client, kafkaPass)
	o := start(t, Config{Destinations: []Destination{{Name: "kafka", Sender: k}}})
	var want []string
	for i := range 3 {
		want = append(want, record(t, o, providerPart("q1", fmt.Sprintf("P%d", i), 1)).EventId)
	}
	statsUntil(t, o, func(s Stats) bool { return s.Retried > 0 && s.Depth == 3 })

	// The same port, a new cluster (kfake keeps nothing across a restart).
	kafkaCluster(t, port, cert)
	testwait.Until(t, "queue drained", 60*time.Second, func() error {
		if s := o.Stats()[0]; s.Depth != 0 {
			return fmt.Errorf("%d waiting", s.Depth)
		}
		return nil
	})
	var got []string
	for _, evs := range kafkaRecords(t, brokers, client, len(want)) {
		for _, ev := range evs {
			got = append(got, ev.EventId)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after the outage got %v, want %v in order", got, want)
	}
}

func TestKafkaRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]KafkaConfig{
		"no brokers":   {Topic: kafkaTopic},
		"no topic":     {Brokers: []string{"127.0.0.1:9092"}},
		"bad topic":    {Brokers: []string{"127.0.0.1:9092"}, Topic: "a/b"},
		"long topic":   {Brokers: []string{"127.0.0.1:9092"}, Topic: string(make([]byte, 250))},
		"neg. timeout": {Brokers: []string{"127.0.0.1:9092"}, Topic: kafkaTopic, Timeout: -1},
	} {
		if _, err := NewKafka(cfg); err == nil {
			t.Errorf("%s: NewKafka accepted %+v", name, cfg)
		}
	}
}
