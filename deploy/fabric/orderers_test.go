package fabric

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	ob "github.com/hyperledger/fabric-protos-go-apiv2/orderer"
	"github.com/hyperledger/fabric-protos-go-apiv2/orderer/etcdraft"
	"google.golang.org/protobuf/proto"
)

// raftConfig is testConfig with an etcdraft ordering service of three
// consenters, and ordering organisation AOrdererMSP whose endpoint is the
// first consenter's.
func raftConfig(t *testing.T) *cb.Config {
	t.Helper()
	md := &etcdraft.ConfigMetadata{}
	for i, port := range []uint32{7050, 7060, 7070} {
		cert := fmt.Appendf(nil, "cert-%d", i)
		md.Consenters = append(md.Consenters, &etcdraft.Consenter{Host: "127.0.0.1", Port: port, ClientTlsCert: cert, ServerTlsCert: cert})
	}
	mdBytes, err := proto.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := proto.Marshal(&ob.ConsensusType{Type: "etcdraft", Metadata: mdBytes})
	if err != nil {
		t.Fatal(err)
	}
	endpoints, err := proto.Marshal(&cb.OrdererAddresses{Addresses: []string{"127.0.0.1:7050"}})
	if err != nil {
		t.Fatal(err)
	}
	c := testConfig()
	og := c.ChannelGroup.Groups["Orderer"]
	og.Values["ConsensusType"] = &cb.ConfigValue{Version: 4, ModPolicy: "Admins", Value: ct}
	og.Groups = map[string]*cb.ConfigGroup{"AOrdererMSP": {Version: 0, ModPolicy: "Admins", Values: map[string]*cb.ConfigValue{
		"Endpoints": {Version: 2, ModPolicy: "Admins", Value: endpoints},
	}}}
	return c
}

// consenters reads the consenter set of c.
func consenters(t *testing.T, c *cb.Config) []*etcdraft.Consenter {
	t.Helper()
	var out []*etcdraft.Consenter
	err := changeConsenters(proto.Clone(c).(*cb.Config), func(cs []*etcdraft.Consenter) ([]*etcdraft.Consenter, error) {
		out = cs
		return cs, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestChangeConsenters(t *testing.T) {
	t.Run("replacing one consenter's certificate writes the ConsensusType value only", func(t *testing.T) {
		orig := raftConfig(t)
		upd := proto.Clone(orig).(*cb.Config)
		err := changeConsenters(upd, func(cs []*etcdraft.Consenter) ([]*etcdraft.Consenter, error) {
			i := consenterIndex(cs, "127.0.0.1:7060")
			cs[i].ClientTlsCert, cs[i].ServerTlsCert = []byte("new"), []byte("new")
			return cs, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got := consenters(t, upd)
		if string(got[1].ClientTlsCert) != "new" || string(got[1].ServerTlsCert) != "new" ||
			string(got[0].ClientTlsCert) != "cert-0" || string(got[2].ServerTlsCert) != "cert-2" {
			t.Fatalf("consenters after the change: %v", got)
		}
		u, err := computeUpdate("ch", orig, upd)
		if err != nil {
			t.Fatal(err)
		}
		w := u.WriteSet.Groups["Orderer"]
		// The Orderer group keeps its version: the Admins policy that
		// guards the value (a majority of the ordering organisations)
		// decides, not a change of the group.
		if w.Version != 1 || len(w.Values) != 1 || w.Values["ConsensusType"].GetVersion() != 5 || len(w.Groups) != 0 {
			t.Fatalf("Orderer write set v%d with values %v and groups %v: want v1 and ConsensusType at v5 alone", w.Version, w.Values, w.Groups)
		}
	})
	t.Run("removing a consenter", func(t *testing.T) {
		c := raftConfig(t)
		err := changeConsenters(c, func(cs []*etcdraft.Consenter) ([]*etcdraft.Consenter, error) {
			i := consenterIndex(cs, "127.0.0.1:7050")
			return slices.Delete(cs, i, i+1), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := consenters(t, c); len(got) != 2 || consenterIndex(got, "127.0.0.1:7050") >= 0 {
			t.Fatalf("consenters after removing 7050: %v", got)
		}
	})
	t.Run("the change's refusal leaves the configuration alone", func(t *testing.T) {
		c := raftConfig(t)
		before := proto.Clone(c)
		refused := errors.New("no such consenter")
		err := changeConsenters(c, func([]*etcdraft.Consenter) ([]*etcdraft.Consenter, error) { return nil, refused })
		if !errors.Is(err, refused) || !proto.Equal(c, before) {
			t.Fatalf("err %v; configuration changed: %v", err, !proto.Equal(c, before))
		}
	})
	bad := []struct {
		name  string
		value func(t *testing.T) []byte
	}{
		{"not a consensus type", func(*testing.T) []byte { return []byte{0xff} }},
		{"not etcdraft", func(t *testing.T) []byte {
			b, err := proto.Marshal(&ob.ConsensusType{Type: "BFT"})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{"bad metadata", func(t *testing.T) []byte {
			b, err := proto.Marshal(&ob.ConsensusType{Type: "etcdraft", Metadata: []byte{0xff}})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c := raftConfig(t)
			c.ChannelGroup.Groups["Orderer"].Values["ConsensusType"].Value = tc.value(t)
			err := changeConsenters(c, func(cs []*etcdraft.Consenter) ([]*etcdraft.Consenter, error) { return cs, nil })
			if !errors.Is(err, ErrBadConfigBlock) {
				t.Fatalf("err %v, want ErrBadConfigBlock", err)
			}
		})
	}
	t.Run("no Orderer group", func(t *testing.T) {
		c := testConfig()
		delete(c.ChannelGroup.Groups, "Orderer")
		if err := changeConsenters(c, nil); !errors.Is(err, ErrBadConfigBlock) {
			t.Fatalf("err %v, want ErrBadConfigBlock", err)
		}
	})
}

func TestChangeEndpoints(t *testing.T) {
	read := func(t *testing.T, c *cb.Config, msp string) []string {
		t.Helper()
		a := &cb.OrdererAddresses{}
		if err := proto.Unmarshal(c.ChannelGroup.Groups["Orderer"].Groups[msp].Values["Endpoints"].Value, a); err != nil {
			t.Fatal(err)
		}
		return a.Addresses
	}
	t.Run("add then remove, written in the organisation's own group", func(t *testing.T) {
		orig := raftConfig(t)
		upd := proto.Clone(orig).(*cb.Config)
		if err := changeEndpoints(upd, "AOrdererMSP", func(a []string) []string { return append(a, "127.0.0.1:7060") }); err != nil {
			t.Fatal(err)
		}
		if got := read(t, upd, "AOrdererMSP"); !slices.Equal(got, []string{"127.0.0.1:7050", "127.0.0.1:7060"}) {
			t.Fatalf("endpoints %v", got)
		}
		u, err := computeUpdate("ch", orig, upd)
		if err != nil {
			t.Fatal(err)
		}
		org := u.WriteSet.Groups["Orderer"].Groups["AOrdererMSP"]
		if u.WriteSet.Groups["Orderer"].Version != 1 || org.Version != 0 || org.Values["Endpoints"].GetVersion() != 3 {
			t.Fatalf("write set %v: want the Endpoints value alone at v3", u.WriteSet.Groups["Orderer"])
		}
		if err := changeEndpoints(upd, "AOrdererMSP", func(a []string) []string { return a[1:] }); err != nil {
			t.Fatal(err)
		}
		if got := read(t, upd, "AOrdererMSP"); !slices.Equal(got, []string{"127.0.0.1:7060"}) {
			t.Fatalf("endpoints %v", got)
		}
	})
	t.Run("an organisation without endpoints gets the value", func(t *testing.T) {
		c := raftConfig(t)
		c.ChannelGroup.Groups["Orderer"].Groups["BOrdererMSP"] = &cb.ConfigGroup{Values: map[string]*cb.ConfigValue{}}
		if err := changeEndpoints(c, "BOrdererMSP", func(a []string) []string { return append(a, "127.0.0.1:7070") }); err != nil {
			t.Fatal(err)
		}
		v := c.ChannelGroup.Groups["Orderer"].Groups["BOrdererMSP"].Values["Endpoints"]
		if v.ModPolicy != "Admins" || !slices.Equal(read(t, c, "BOrdererMSP"), []string{"127.0.0.1:7070"}) {
			t.Fatalf("new Endpoints value %v", v)
		}
	})
	t.Run("unknown ordering organisation", func(t *testing.T) {
		if err := changeEndpoints(raftConfig(t), "ZOrdererMSP", nil); !errors.Is(err, ErrBadConfigBlock) {
			t.Fatalf("err %v, want ErrBadConfigBlock", err)
		}
	})
}

func TestParseHeight(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want uint64
		ok   bool
	}{
		{"getinfo", `Blockchain info: {"height":7,"currentBlockHash":"x"}`, 7, true},
		{"osnadmin", "Status: 200\n{\n\t\"name\": \"riskmesh\",\n\t\"height\": 12\n}\n", 12, true},
		{"no object", "Error: connection refused", 0, false},
		{"bad json", `Status: 200 {"height": "seven"}`, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseHeight([]byte(tc.out), "cmd")
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("parseHeight = %d, %v; want %d (ok %v)", got, err, tc.want, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrCommandFail) {
				t.Fatalf("err %v, want ErrCommandFail", err)
			}
		})
	}
}

func TestMetricSamples(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# HELP consensus_etcdraft_active_nodes Number of active nodes.\n"+
			"# TYPE consensus_etcdraft_active_nodes gauge\n"+
			"consensus_etcdraft_active_nodes{channel=\"riskmesh\"} 2\n"+
			"consensus_etcdraft_cluster_size{channel=\"riskmesh\"} 3\n\n"+
			"consensus_etcdraft_is_leader{channel=\"riskmesh\"} 1\n")
	}))
	defer srv.Close()
	ctx := context.Background()
	s, err := metricSamples(ctx, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if s[`consensus_etcdraft_active_nodes{channel="riskmesh"}`] != "2" || s[`consensus_etcdraft_cluster_size{channel="riskmesh"}`] != "3" || len(s) != 3 {
		t.Fatalf("samples %v", s)
	}
	for want, ok := range map[string]bool{
		`consensus_etcdraft_is_leader{channel="riskmesh"} 1`: true,
		`consensus_etcdraft_is_leader{channel="riskmesh"} 0`: false,
		`consensus_etcdraft_is_leader{channel="other"} 1`:    false,
	} {
		if got, _ := metricReady(srv.URL, want)(ctx); got != ok {
			t.Errorf("metricReady(%q) = %v, want %v", want, got, ok)
		}
	}
}

func TestFreeOrdererSlot(t *testing.T) {
	tests := []struct {
		slots []int
		want  int
	}{
		{nil, 0},
		{[]int{0, 1, 2}, -1},
		{[]int{0, 2}, 1},
		{[]int{1, 2}, 0},
	}
	for _, tc := range tests {
		var info Info
		for _, s := range tc.slots {
			info.Orderers = append(info.Orderers, Orderer{Slot: s})
		}
		if got := freeOrdererSlot(info); got != tc.want {
			t.Errorf("freeOrdererSlot(%v) = %d, want %d", tc.slots, got, tc.want)
		}
	}
}
