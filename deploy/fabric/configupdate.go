package fabric

import (
	"bytes"
	"fmt"

	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
)

// A channel's configuration is a tree of groups holding values and
// policies, each element versioned and guarded by its modification policy.
// A configuration update names, in its read set, the elements (with their
// versions) it depends on and, in its write set, the elements it changes
// with their versions raised by one. An element whose version is raised must
// satisfy its modification policy with the update's signatures; a group
// whose version is raised lists its complete set of children, which is how
// a removal is expressed. This file computes such updates from an original
// and an updated configuration, the job of Fabric's configtxlator, so that
// the change can be built and tested in Go (docs/operations.md).

// maxConfigBlock bounds a configuration block read from a file or the
// orderer; a channel configuration is a few tens of kilobytes.
const maxConfigBlock = 4 << 20

// configFromBlock returns the channel configuration that a configuration
// block (block 0 or the latest configuration block) carries, and the
// block's number.
func configFromBlock(raw []byte) (*cb.Config, uint64, error) {
	if len(raw) > maxConfigBlock {
		return nil, 0, fmt.Errorf("%w: %d bytes, more than %d", ErrBadConfigBlock, len(raw), maxConfigBlock)
	}
	block := &cb.Block{}
	if err := proto.Unmarshal(raw, block); err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrBadConfigBlock, err)
	}
	cfg, err := blockConfig(block)
	if err != nil {
		return nil, 0, err
	}
	return cfg, block.GetHeader().GetNumber(), nil
}

func blockConfig(block *cb.Block) (*cb.Config, error) {
	if len(block.GetData().GetData()) != 1 {
		return nil, fmt.Errorf("%w: %d transactions, want 1", ErrBadConfigBlock, len(block.GetData().GetData()))
	}
	env := &cb.Envelope{}
	if err := proto.Unmarshal(block.Data.Data[0], env); err != nil {
		return nil, fmt.Errorf("%w: envelope: %v", ErrBadConfigBlock, err)
	}
	payload := &cb.Payload{}
	if err := proto.Unmarshal(env.Payload, payload); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrBadConfigBlock, err)
	}
	ch := &cb.ChannelHeader{}
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), ch); err != nil {
		return nil, fmt.Errorf("%w: channel header: %v", ErrBadConfigBlock, err)
	}
	if ch.Type != int32(cb.HeaderType_CONFIG) {
		return nil, fmt.Errorf("%w: transaction type %d, want CONFIG", ErrBadConfigBlock, ch.Type)
	}
	ce := &cb.ConfigEnvelope{}
	if err := proto.Unmarshal(payload.Data, ce); err != nil {
		return nil, fmt.Errorf("%w: config envelope: %v", ErrBadConfigBlock, err)
	}
	if ce.GetConfig().GetChannelGroup() == nil {
		return nil, fmt.Errorf("%w: no channel group", ErrBadConfigBlock)
	}
	return ce.Config, nil
}

// computeUpdate returns the configuration update that turns original into
// updated, or ErrNoConfigChange.
func computeUpdate(channel string, original, updated *cb.Config) (*cb.ConfigUpdate, error) {
	if original.GetChannelGroup() == nil || updated.GetChannelGroup() == nil {
		return nil, fmt.Errorf("%w: no channel group", ErrBadConfigBlock)
	}
	read, write, changed := groupUpdate(original.ChannelGroup, updated.ChannelGroup)
	if !changed {
		return nil, ErrNoConfigChange
	}
	return &cb.ConfigUpdate{ChannelId: channel, ReadSet: read, WriteSet: write}, nil
}

// groupUpdate compares one group. An unchanged group is read at its
// version. A group whose own children were added or removed (or whose
// modification policy changed) is written at version+1 with every child;
// otherwise it keeps its version and the update carries only the changed
// children.
func groupUpdate(orig, upd *cb.ConfigGroup) (read, write *cb.ConfigGroup, changed bool) {
	samePolicies, writePolicies, policiesMoved := leafUpdates(orig.Policies, upd.Policies,
		func(a, b *cb.ConfigPolicy) bool { return a.ModPolicy == b.ModPolicy && proto.Equal(a.Policy, b.Policy) },
		func(p *cb.ConfigPolicy) uint64 { return p.Version },
		func(p *cb.ConfigPolicy, version uint64) *cb.ConfigPolicy {
			return &cb.ConfigPolicy{Version: version, ModPolicy: p.GetModPolicy(), Policy: p.GetPolicy()}
		})
	sameValues, writeValues, valuesMoved := leafUpdates(orig.Values, upd.Values,
		func(a, b *cb.ConfigValue) bool { return a.ModPolicy == b.ModPolicy && bytes.Equal(a.Value, b.Value) },
		func(v *cb.ConfigValue) uint64 { return v.Version },
		func(v *cb.ConfigValue, version uint64) *cb.ConfigValue {
			return &cb.ConfigValue{Version: version, ModPolicy: v.GetModPolicy(), Value: v.GetValue()}
		})

	sameGroups := map[string]*cb.ConfigGroup{}
	readGroups := map[string]*cb.ConfigGroup{}
	writeGroups := map[string]*cb.ConfigGroup{}
	groupsMoved := false
	for name, o := range orig.Groups {
		u, ok := upd.Groups[name]
		if !ok {
			groupsMoved = true
			continue
		}
		r, w, c := groupUpdate(o, u)
		if !c {
			sameGroups[name] = r
			continue
		}
		readGroups[name], writeGroups[name] = r, w
	}
	for name, u := range upd.Groups {
		if _, ok := orig.Groups[name]; !ok {
			groupsMoved = true
			writeGroups[name] = newGroup(u)
		}
	}

	if !policiesMoved && !valuesMoved && !groupsMoved && orig.ModPolicy == upd.ModPolicy {
		if len(writePolicies) == 0 && len(writeValues) == 0 && len(writeGroups) == 0 {
			return &cb.ConfigGroup{Version: orig.Version}, &cb.ConfigGroup{Version: orig.Version}, false
		}
		return &cb.ConfigGroup{Version: orig.Version, Groups: readGroups},
			&cb.ConfigGroup{Version: orig.Version, Policies: writePolicies, Values: writeValues, Groups: writeGroups},
			true
	}
	for name, p := range samePolicies {
		writePolicies[name] = p
	}
	for name, v := range sameValues {
		writeValues[name] = v
	}
	for name, g := range sameGroups {
		readGroups[name], writeGroups[name] = g, g
	}
	return &cb.ConfigGroup{Version: orig.Version, Policies: samePolicies, Values: sameValues, Groups: readGroups},
		&cb.ConfigGroup{Version: orig.Version + 1, ModPolicy: upd.ModPolicy,
			Policies: writePolicies, Values: writeValues, Groups: writeGroups},
		true
}

// leafUpdates compares the policies or the values of a group: same holds
// the unchanged ones as bare versions, write the changed (version+1) and
// added (version 0) ones in full; moved reports an addition or a removal.
func leafUpdates[T any](orig, upd map[string]T, equal func(a, b T) bool, version func(T) uint64,
	withVersion func(T, uint64) T) (same, write map[string]T, moved bool) {
	var zero T
	same, write = map[string]T{}, map[string]T{}
	for name, o := range orig {
		u, ok := upd[name]
		switch {
		case !ok:
			moved = true
		case equal(o, u):
			same[name] = withVersion(zero, version(o))
		default:
			write[name] = withVersion(u, version(o)+1)
		}
	}
	for name, u := range upd {
		if _, ok := orig[name]; !ok {
			moved = true
			write[name] = withVersion(u, 0)
		}
	}
	return same, write, moved
}

// newGroup is a group added by an update: everything in it at version 0.
func newGroup(g *cb.ConfigGroup) *cb.ConfigGroup {
	out := &cb.ConfigGroup{ModPolicy: g.ModPolicy,
		Groups:   map[string]*cb.ConfigGroup{},
		Values:   map[string]*cb.ConfigValue{},
		Policies: map[string]*cb.ConfigPolicy{}}
	for name, sub := range g.Groups {
		out.Groups[name] = newGroup(sub)
	}
	for name, v := range g.Values {
		out.Values[name] = &cb.ConfigValue{ModPolicy: v.ModPolicy, Value: v.Value}
	}
	for name, p := range g.Policies {
		out.Policies[name] = &cb.ConfigPolicy{ModPolicy: p.ModPolicy, Policy: p.Policy}
	}
	return out
}

// updateEnvelope wraps an update, still unsigned, in the CONFIG_UPDATE
// envelope that `peer channel signconfigtx` signs in place and `peer channel
// update` signs and submits: each admin adds a signature with their own
// key, on their own host.
func updateEnvelope(channel string, u *cb.ConfigUpdate) ([]byte, error) {
	update, err := proto.Marshal(u)
	if err != nil {
		return nil, err
	}
	data, err := proto.Marshal(&cb.ConfigUpdateEnvelope{ConfigUpdate: update})
	if err != nil {
		return nil, err
	}
	header, err := proto.Marshal(&cb.ChannelHeader{Type: int32(cb.HeaderType_CONFIG_UPDATE), ChannelId: channel})
	if err != nil {
		return nil, err
	}
	payload, err := proto.Marshal(&cb.Payload{Header: &cb.Header{ChannelHeader: header}, Data: data})
	if err != nil {
		return nil, err
	}
	return proto.Marshal(&cb.Envelope{Payload: payload})
}

// applicationGroup returns the channel's Application group.
func applicationGroup(c *cb.Config) (*cb.ConfigGroup, error) {
	app := c.GetChannelGroup().GetGroups()["Application"]
	if app == nil {
		return nil, fmt.Errorf("%w: no Application group", ErrBadConfigBlock)
	}
	return app, nil
}
