package fabric

import (
	"errors"
	"testing"

	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
)

// testOrg is an application organisation group as configtxgen writes it, at
// the given version.
func testOrg(version uint64, anchor string) *cb.ConfigGroup {
	return &cb.ConfigGroup{
		Version: version, ModPolicy: "Admins",
		Values: map[string]*cb.ConfigValue{
			"MSP":         {ModPolicy: "Admins", Value: []byte("msp")},
			"AnchorPeers": {ModPolicy: "Admins", Value: []byte(anchor)},
		},
		Policies: map[string]*cb.ConfigPolicy{
			"Admins": {ModPolicy: "Admins", Policy: &cb.Policy{Type: 1, Value: []byte("admins")}},
		},
	}
}

// testConfig is a channel with an Orderer group and an Application group of
// two organisations.
func testConfig() *cb.Config {
	return &cb.Config{Sequence: 3, ChannelGroup: &cb.ConfigGroup{
		Version: 0, ModPolicy: "Admins",
		Values: map[string]*cb.ConfigValue{"Capabilities": {Version: 0, ModPolicy: "Admins", Value: []byte("v2")}},
		Groups: map[string]*cb.ConfigGroup{
			"Orderer": {Version: 1, ModPolicy: "Admins", Values: map[string]*cb.ConfigValue{
				"BatchTimeout": {Version: 0, ModPolicy: "Admins", Value: []byte("100ms")},
			}},
			"Application": {
				Version: 2, ModPolicy: "Admins",
				Groups: map[string]*cb.ConfigGroup{"AMSP": testOrg(1, "a"), "BMSP": testOrg(0, "b")},
				Policies: map[string]*cb.ConfigPolicy{
					"Admins": {Version: 0, ModPolicy: "Admins", Policy: &cb.Policy{Type: 3, Value: []byte("majority")}},
				},
			},
		},
	}}
}

func TestComputeUpdate(t *testing.T) {
	t.Run("adding an organisation raises the Application group and lists every member", func(t *testing.T) {
		orig := testConfig()
		upd := proto.Clone(orig).(*cb.Config)
		upd.ChannelGroup.Groups["Application"].Groups["CMSP"] = testOrg(7, "c")
		u, err := computeUpdate("ch", orig, upd)
		if err != nil {
			t.Fatal(err)
		}
		if u.ChannelId != "ch" {
			t.Fatalf("channel %q", u.ChannelId)
		}
		rApp, wApp := u.ReadSet.Groups["Application"], u.WriteSet.Groups["Application"]
		if rApp.Version != 2 || wApp.Version != 3 || wApp.ModPolicy != "Admins" {
			t.Fatalf("Application read v%d, write v%d %q; want 2, 3, Admins", rApp.Version, wApp.Version, wApp.ModPolicy)
		}
		for _, name := range []string{"AMSP", "BMSP"} {
			r, w := rApp.Groups[name], wApp.Groups[name]
			if r == nil || w == nil || r.Version != orig.ChannelGroup.Groups["Application"].Groups[name].Version || w.Version != r.Version {
				t.Fatalf("%s: read %v, write %v: want both at its version", name, r, w)
			}
			if len(w.Values) != 0 || len(w.Policies) != 0 {
				t.Fatalf("%s is unchanged but the write set carries its content", name)
			}
		}
		c := wApp.Groups["CMSP"]
		if c == nil || c.Version != 0 || c.Values["AnchorPeers"].Version != 0 || string(c.Values["AnchorPeers"].Value) != "c" {
			t.Fatalf("new group %v: want it whole at version 0", c)
		}
		if rApp.Groups["CMSP"] != nil {
			t.Fatal("the read set depends on the group it adds")
		}
		if p := wApp.Policies["Admins"]; p == nil || p.Version != 0 || p.Policy != nil {
			t.Fatalf("Application's Admins policy in the write set: %v, want its bare version", p)
		}
		if u.WriteSet.Version != 0 || u.WriteSet.Groups["Orderer"] != nil || u.ReadSet.Groups["Orderer"] != nil {
			t.Fatal("the update touches the channel group or the Orderer group")
		}
	})

	t.Run("removing an organisation raises the Application group without it", func(t *testing.T) {
		orig := testConfig()
		upd := proto.Clone(orig).(*cb.Config)
		delete(upd.ChannelGroup.Groups["Application"].Groups, "BMSP")
		u, err := computeUpdate("ch", orig, upd)
		if err != nil {
			t.Fatal(err)
		}
		wApp := u.WriteSet.Groups["Application"]
		if wApp.Version != 3 || wApp.Groups["BMSP"] != nil || wApp.Groups["AMSP"] == nil {
			t.Fatalf("write set %v: want version 3, AMSP kept, BMSP gone", wApp)
		}
	})

	t.Run("changing a value raises only that value", func(t *testing.T) {
		orig := testConfig()
		upd := proto.Clone(orig).(*cb.Config)
		upd.ChannelGroup.Groups["Application"].Groups["AMSP"].Values["AnchorPeers"].Value = []byte("a2")
		u, err := computeUpdate("ch", orig, upd)
		if err != nil {
			t.Fatal(err)
		}
		wApp := u.WriteSet.Groups["Application"]
		a := wApp.Groups["AMSP"]
		if wApp.Version != 2 || a.Version != 1 {
			t.Fatalf("groups raised: Application v%d, AMSP v%d; want 2 and 1", wApp.Version, a.Version)
		}
		v := a.Values["AnchorPeers"]
		if v.Version != 1 || string(v.Value) != "a2" || len(a.Values) != 1 {
			t.Fatalf("AMSP values in the write set: %v; want only AnchorPeers at version 1", a.Values)
		}
		if u.ReadSet.Groups["Application"].Groups["AMSP"].Version != 1 {
			t.Fatal("the read set does not pin AMSP's version")
		}
	})

	t.Run("no change is an error", func(t *testing.T) {
		orig := testConfig()
		if _, err := computeUpdate("ch", orig, proto.Clone(orig).(*cb.Config)); !errors.Is(err, ErrNoConfigChange) {
			t.Fatalf("got %v, want ErrNoConfigChange", err)
		}
	})
}

// configBlock wraps cfg in a configuration block, as the orderer does.
func configBlock(t testing.TB, number uint64, cfg *cb.Config) []byte {
	t.Helper()
	marshal := func(m proto.Message) []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	payload := marshal(&cb.Payload{
		Header: &cb.Header{ChannelHeader: marshal(&cb.ChannelHeader{Type: int32(cb.HeaderType_CONFIG), ChannelId: "ch"})},
		Data:   marshal(&cb.ConfigEnvelope{Config: cfg}),
	})
	return marshal(&cb.Block{
		Header: &cb.BlockHeader{Number: number},
		Data:   &cb.BlockData{Data: [][]byte{marshal(&cb.Envelope{Payload: payload})}},
	})
}

func TestConfigFromBlock(t *testing.T) {
	cfg := testConfig()
	got, number, err := configFromBlock(configBlock(t, 9, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if number != 9 || !proto.Equal(got, cfg) {
		t.Fatalf("block 9 with %v: got block %d with %v", cfg, number, got)
	}
	update := &cb.ChannelHeader{Type: int32(cb.HeaderType_CONFIG_UPDATE)}
	hb, _ := proto.Marshal(update)
	pb, _ := proto.Marshal(&cb.Payload{Header: &cb.Header{ChannelHeader: hb}})
	eb, _ := proto.Marshal(&cb.Envelope{Payload: pb})
	notConfig, _ := proto.Marshal(&cb.Block{Data: &cb.BlockData{Data: [][]byte{eb}}})
	for name, raw := range map[string][]byte{
		"garbage":          []byte("not a block"),
		"empty block":      {},
		"two transactions": mustMarshal(t, &cb.Block{Data: &cb.BlockData{Data: [][]byte{eb, eb}}}),
		"not a config":     notConfig,
		"too large":        make([]byte, maxConfigBlock+1),
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := configFromBlock(raw); !errors.Is(err, ErrBadConfigBlock) {
				t.Fatalf("got %v, want ErrBadConfigBlock", err)
			}
		})
	}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUpdateEnvelope(t *testing.T) {
	u := &cb.ConfigUpdate{ChannelId: "ch", WriteSet: &cb.ConfigGroup{Version: 1}}
	raw, err := updateEnvelope("ch", u)
	if err != nil {
		t.Fatal(err)
	}
	env := &cb.Envelope{}
	payload := &cb.Payload{}
	ch := &cb.ChannelHeader{}
	cue := &cb.ConfigUpdateEnvelope{}
	got := &cb.ConfigUpdate{}
	// Each layer holds the next one's bytes.
	for _, step := range []struct {
		b func() []byte
		m proto.Message
	}{
		{func() []byte { return raw }, env},
		{func() []byte { return env.Payload }, payload},
		{func() []byte { return payload.Header.ChannelHeader }, ch},
		{func() []byte { return payload.Data }, cue},
		{func() []byte { return cue.ConfigUpdate }, got},
	} {
		if err := proto.Unmarshal(step.b(), step.m); err != nil {
			t.Fatal(err)
		}
	}
	if ch.Type != int32(cb.HeaderType_CONFIG_UPDATE) || ch.ChannelId != "ch" {
		t.Fatalf("channel header %v", ch)
	}
	if len(env.Signature) != 0 || len(cue.Signatures) != 0 || payload.Header.SignatureHeader != nil {
		t.Fatal("the envelope is signed before any admin signed it")
	}
	if !proto.Equal(got, u) {
		t.Fatalf("update %v, want %v", got, u)
	}
}

// FuzzConfigFromBlock: a configuration block read from a file or an orderer
// never panics the decoder; what it accepts re-encodes to a block that
// decodes to the same configuration.
func FuzzConfigFromBlock(f *testing.F) {
	f.Add(configBlock(f, 0, testConfig()))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, number, err := configFromBlock(raw)
		if err != nil {
			if !errors.Is(err, ErrBadConfigBlock) {
				t.Fatalf("error %v is not ErrBadConfigBlock", err)
			}
			return
		}
		again, n2, err := configFromBlock(configBlock(t, number, cfg))
		if err != nil || n2 != number || !proto.Equal(again, cfg) {
			t.Fatalf("re-encoded block: %v, %d, %v", err, n2, again)
		}
	})
}
