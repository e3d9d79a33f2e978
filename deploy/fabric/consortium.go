package fabric

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
)

// heightPollInterval paces the waits that run the peer CLI (block heights,
// configuration fetches): each poll starts a process.
const heightPollInterval = 250 * time.Millisecond

// A configuration update that is not in a block configCommitWait after
// the orderers accepted it is sent again, at most maxConfigSubmits times
// in all (submitUpdate).
const (
	configCommitWait = 15 * time.Second
	maxConfigSubmits = 3
)

// AddOrg has organisation o join the running channel the way a consortium
// admits a member (docs/operations.md, "Joining a running consortium"):
//
//  1. o generates its crypto material and its peer's configuration in its
//     own folder;
//  2. o's channel definition is produced by configtxgen from o's public MSP
//     folder, added to the channel configuration fetched from the orderers,
//     and the update computed (computeUpdate);
//  3. the admins of signers sign the update in turn, the last one submitting
//     it: the channel's Application Admins policy is MAJORITY, so the
//     orderers refuse it unless signers are a majority of the members;
//  4. o's peer starts, o's admin fetches the channel's first block, the peer
//     joins and catches up with the chain (block height);
//  5. o installs the chaincode package and approves the committed
//     definition, after which its peer endorses.
//
// If a step after the update fails (o's peer never comes up or never
// catches up, o never approves), AddOrg returns ErrJoinIncomplete and
// Info.Joining lists o: RemoveOrg takes it off the channel again, which
// leaves the channel as it was before (docs/operations.md, "Rolling back
// a failed join").
//
// Onboarding o as an institution (AddInstitution and the rest) is then the
// regulator's act on the ledger, not the network's.
func (n *Network) AddOrg(ctx context.Context, o OrgSpec, signers []string) (Org, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.StartTimeout)
	defer cancel()
	info := n.Info()
	specs := []OrgSpec{o}
	for _, m := range slices.Concat(info.Orgs, info.Joining) {
		if m.Name == o.Name || m.MSPID == o.MSPID {
			return Org{}, fmt.Errorf("%w: %s", ErrMember, o.MSPID)
		}
		specs = append(specs, m.spec())
	}
	if err := validOrgs(specs); err != nil {
		return Org{}, err
	}
	slot := freeSlot(info)
	if slot < 0 {
		return Org{}, fmt.Errorf("%w: %d organisations", ErrNoSlot, len(info.Orgs))
	}
	l := n.layout
	// A folder left by an attempt the channel refused holds keys nobody
	// knows; o starts afresh.
	if err := os.RemoveAll(l.orgDir(o.Name)); err != nil {
		return Org{}, err
	}
	if err := generateOrgCrypto(ctx, l, n.cfg.BinDir, o, false); err != nil {
		return Org{}, err
	}
	if err := writePeerConfig(n.sampleDir, l, info.BasePort, slot, o); err != nil {
		return Org{}, err
	}
	org, err := describeOrg(l, info.BasePort, slot, o)
	if err != nil {
		return Org{}, fmt.Errorf("crypto material of %s: %w", o.MSPID, err)
	}
	group, err := n.orgDefinition(ctx, org)
	if err != nil {
		return Org{}, err
	}
	err = n.updateConfig(ctx, signers, info.Orgs, info.Orgs, func(app *cb.ConfigGroup) {
		app.Groups[o.MSPID] = group
	})
	if err != nil {
		return Org{}, fmt.Errorf("add %s to the channel: %w", o.MSPID, err)
	}

	// From here on o is on the channel: a failure leaves it half joined,
	// which network.json records so that RemoveOrg can take it off again.
	n.mu.Lock()
	n.info.Joining = append(n.info.Joining, org)
	n.mu.Unlock()
	if err := n.save(); err != nil {
		return Org{}, err
	}
	if err := n.completeJoin(ctx, org); err != nil {
		return Org{}, fmt.Errorf("%w: %s: %w (remove it with RemoveOrg)", ErrJoinIncomplete, o.MSPID, err)
	}
	n.mu.Lock()
	n.info.Joining = slices.DeleteFunc(n.info.Joining, func(j Org) bool { return j.MSPID == org.MSPID })
	n.info.Orgs = append(n.info.Orgs, org)
	n.mu.Unlock()
	if err := n.gatewaysReady(ctx, n.Info().Orgs, nil); err != nil {
		return Org{}, err
	}
	return org, n.save()
}

// completeJoin is the newcomer's part of AddOrg once the channel lists it:
// its peer starts, joins with the channel's first block and catches up,
// and its admin installs and approves the committed chaincode definition.
func (n *Network) completeJoin(ctx context.Context, org Org) error {
	a := n.admin(org)
	first := filepath.Join(n.layout.orgDir(org.Name), ChannelName+"-0.block")
	// Every orderer serves o's admin once it has the new configuration.
	err := waitEvery(ctx, heightPollInterval, "first block for "+org.MSPID, nil, func(ctx context.Context) (bool, error) {
		err := a.fetch(ctx, "0", first)
		return err == nil, err
	})
	if err != nil {
		return err
	}
	p, err := n.startPeer(org)
	if err != nil {
		return err
	}
	def := n.definition()
	if err := n.joinPeer(ctx, org, p, first, def); err != nil {
		return err
	}
	target, err := n.admin(n.Info().Orgs[0]).height(ctx)
	if err != nil {
		return err
	}
	if err := n.waitHeight(ctx, []Org{org}, target); err != nil {
		return err
	}
	return a.approve(ctx, def)
}

// RemoveOrg takes organisation mspID off the channel with a configuration
// update signed by the admins of signers (a majority of the organisations
// the channel lists, the organisation itself may be one of them) and stops
// its peer. Its clients' transactions are refused from the block that
// carries the update on. mspID may be a member or an organisation whose
// AddOrg failed half way (Info.Joining): removing that one rolls the
// channel back to its configuration before AddOrg. An organisation that
// runs an orderer cannot be removed this way: its orderer is a consenter of
// the channel.
func (n *Network) RemoveOrg(ctx context.Context, mspID string, signers []string) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.StartTimeout)
	defer cancel()
	info := n.Info()
	listed := slices.Concat(info.Orgs, info.Joining)
	org, err := Info{Orgs: listed}.Org(mspID)
	if err != nil {
		return err
	}
	for _, o := range info.Orderers {
		if o.Org == org.Name {
			return fmt.Errorf("%w: %s", ErrRunsOrderer, mspID)
		}
	}
	isOrg := func(o Org) bool { return o.MSPID == mspID }
	rest := slices.DeleteFunc(slices.Clone(info.Orgs), isOrg)
	// The removed organisation's peer may never get the block that removes
	// it: the orderers stop serving it there.
	err = n.updateConfig(ctx, signers, listed, rest, func(app *cb.ConfigGroup) {
		delete(app.Groups, mspID)
	})
	if err != nil {
		return fmt.Errorf("remove %s from the channel: %w", mspID, err)
	}
	n.mu.Lock()
	n.info.Orgs = slices.DeleteFunc(n.info.Orgs, isOrg)
	n.info.Joining = slices.DeleteFunc(n.info.Joining, isOrg)
	n.mu.Unlock()
	if err := n.stopNamed("peer-" + org.Name); err != nil {
		return err
	}
	if err := n.gatewaysReady(ctx, rest, nil); err != nil {
		return err
	}
	return n.save()
}

// ChannelOrgs returns the MSP ids of the organisations that the channel's
// current configuration lists, sorted, read from an orderer: the channel's
// own view, which Info may lag behind after a failed change.
func (n *Network) ChannelOrgs(ctx context.Context) ([]string, error) {
	cfg, err := n.channelConfig(ctx)
	if err != nil {
		return nil, err
	}
	app, err := applicationGroup(cfg)
	if err != nil {
		return nil, err
	}
	ids := slices.Collect(maps.Keys(app.Groups))
	slices.Sort(ids)
	return ids, nil
}

// channelConfig returns the channel's current configuration, fetched by a
// member's admin from an orderer.
func (n *Network) channelConfig(ctx context.Context) (*cb.Config, error) {
	info := n.Info()
	if len(info.Orgs) == 0 {
		return nil, fmt.Errorf("%w: no member to ask", ErrUnknownOrg)
	}
	cfg, _, err := n.admin(info.Orgs[0]).fetchConfig(ctx)
	return cfg, err
}

// UpgradeChaincode moves the channel to a new chaincode definition (the
// next sequence) while transactions run: the package labelled label is
// built, its server started on the sequence's port slot and the package
// installed on every peer; the admins of approvers (at least a majority:
// the LifecycleEndorsement policy) approve the definition and the first of
// them commits it with their peers' endorsements; the remaining organisations approve it afterwards so
// that their peers endorse again. Once every gateway endorses with the new
// definition, the previous chaincode server is stopped. The new server runs
// the same binary (Config.Chaincode.Binary) as the old one; a release ships
// a new binary the same way.
func (n *Network) UpgradeChaincode(ctx context.Context, label string, approvers []string) (err error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.StartTimeout)
	defer cancel()
	info := n.Info()
	old := n.definition()
	if label == "" || label == old.label {
		return fmt.Errorf("%w: package label %q must be new", ErrConfig, label)
	}
	first, err := admins(info.Orgs, approvers)
	if err != nil {
		return err
	}
	def := chaincodeDefinition{label: label, version: strconv.Itoa(old.sequence + 1), sequence: old.sequence + 1}
	if err := n.writePackage(&def); err != nil {
		return err
	}
	cc, err := n.startChaincode(def)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.stopNamed(cc.name))
		}
	}()
	if err := waitFor(ctx, "chaincode server "+cc.name, cc, tcpReady(def.address)); err != nil {
		return err
	}
	pkg := n.packageFile(def.label)
	if err := forEach(len(info.Orgs), func(i int) error { return n.admin(info.Orgs[i]).install(ctx, pkg) }); err != nil {
		return err
	}
	if err := forEach(len(first), func(i int) error { return n.admin(first[i]).approve(ctx, def) }); err != nil {
		return err
	}
	// Only the peers of organisations that approved endorse the commit (a
	// peer refuses a definition its organisation has not agreed to); they
	// are a majority, which LifecycleEndorsement asks for.
	if err := n.admin(first[0]).commit(ctx, def, first); err != nil {
		return err
	}
	n.setDefinition(def)
	rest := slices.DeleteFunc(slices.Clone(info.Orgs), func(o Org) bool { return slices.Contains(approvers, o.MSPID) })
	if err := forEach(len(rest), func(i int) error { return n.admin(rest[i]).approve(ctx, def) }); err != nil {
		return err
	}
	if err := n.gatewaysReady(ctx, info.Orgs, cc); err != nil {
		return err
	}
	if err := n.stopNamed(fmt.Sprintf("chaincode-%d", old.sequence)); err != nil {
		return err
	}
	return n.save()
}

// RaftLeader returns the organisation whose orderer leads the channel's
// Raft cluster now.
func (n *Network) RaftLeader(ctx context.Context) (string, error) {
	want := fmt.Sprintf("consensus_etcdraft_is_leader{channel=%q} 1", ChannelName)
	var errs []error
	for _, o := range n.Info().Orderers {
		ok, err := metricReady(o.OperationsURL+"/metrics", want)(ctx)
		if ok {
			return o.Org, nil
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("%w: no raft leader: %w", ErrNotReady, errors.Join(errs...))
}

// StopOrderer stops the orderer that organisation org runs, as an outage
// or maintenance would: with three orderers the channel keeps ordering.
func (n *Network) StopOrderer(org string) error {
	if !slices.ContainsFunc(n.Info().Orderers, func(o Orderer) bool { return o.Org == org }) {
		return fmt.Errorf("%w: %s runs no orderer", ErrUnknownOrg, org)
	}
	return n.stopNamed("orderer-" + org)
}

// freeSlot returns the lowest peer port slot no member or joining
// organisation uses, or -1.
func freeSlot(info Info) int {
	used := slices.Concat(info.Orgs, info.Joining)
	for slot := range maxOrgs {
		if !slices.ContainsFunc(used, func(o Org) bool { return o.Slot == slot }) {
			return slot
		}
	}
	return -1
}

// admins returns the members named by mspIDs, in that order.
func admins(members []Org, mspIDs []string) ([]Org, error) {
	if len(mspIDs) == 0 {
		return nil, ErrNoSignatures
	}
	var out []Org
	for _, id := range mspIDs {
		i := slices.IndexFunc(members, func(o Org) bool { return o.MSPID == id })
		if i < 0 {
			return nil, fmt.Errorf("%w: %s", ErrUnknownOrg, id)
		}
		out = append(out, members[i])
	}
	return out, nil
}

// orgDefinition returns o's group of the channel configuration, produced by
// configtxgen from o's public MSP folder: the same definition a founding
// organisation gets in the genesis block (applicationOrg).
func (n *Network) orgDefinition(ctx context.Context, o Org) (*cb.ConfigGroup, error) {
	info := n.Info()
	var operators []OrgSpec
	for _, ord := range info.Orderers {
		operators = append(operators, OrgSpec{Name: ord.Org, MSPID: strings.TrimSuffix(ord.MSPID, "OrdererMSP") + "MSP"})
	}
	s := channelSettings{base: info.BasePort, orgs: operators, orderers: len(operators),
		batchTimeout: defaultBatchTimeout, maxMessages: defaultMaxMessageCount}
	dir := filepath.Join(n.layout.orgDir(o.Name), "definition")
	block := filepath.Join(dir, "definition.block")
	profile := s.profile(n.layout, []txOrg{applicationOrg(n.layout, info.BasePort, o.Slot, o.spec())})
	if err := configtxgen(ctx, n.cfg.BinDir, dir, profile, block); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(block)
	if err != nil {
		return nil, err
	}
	cfg, _, err := configFromBlock(raw)
	if err != nil {
		return nil, err
	}
	app, err := applicationGroup(cfg)
	if err != nil {
		return nil, err
	}
	group := app.Groups[o.MSPID]
	if group == nil {
		return nil, fmt.Errorf("%w: configtxgen left out %s", ErrBadConfigBlock, o.MSPID)
	}
	return group, nil
}

// updateConfig changes the channel's Application group with change, signs
// the update as the admins of signers (members are the current members)
// and submits it, then waits until the orderers serve the new
// configuration and the peers of staying have its block.
func (n *Network) updateConfig(ctx context.Context, signers []string, members, staying []Org, change func(app *cb.ConfigGroup)) error {
	by, err := admins(members, signers)
	if err != nil {
		return err
	}
	var signing []peerAdmin
	for _, o := range by {
		signing = append(signing, n.admin(o))
	}
	number, err := n.submitUpdate(ctx, signing, func(c *cb.Config) error {
		app, err := applicationGroup(c)
		if err != nil {
			return err
		}
		change(app)
		return nil
	})
	if err != nil {
		return err
	}
	return n.waitHeight(ctx, staying, number+1)
}

// submitUpdate fetches the channel's configuration, applies change to a
// copy, computes the update, has every admin of by sign it in turn (the
// last one submitting it) and waits until the orderers serve the new
// configuration. It returns the number of the block that carries it.
func (n *Network) submitUpdate(ctx context.Context, by []peerAdmin, change func(*cb.Config) error) (uint64, error) {
	if len(by) == 0 {
		return 0, ErrNoSignatures
	}
	submitter := by[len(by)-1]
	orig, _, err := submitter.fetchConfig(ctx)
	if err != nil {
		return 0, err
	}
	updated := proto.Clone(orig).(*cb.Config)
	if err := change(updated); err != nil {
		return 0, err
	}
	u, err := computeUpdate(ChannelName, orig, updated)
	if err != nil {
		return 0, err
	}
	env, err := updateEnvelope(ChannelName, u)
	if err != nil {
		return 0, err
	}
	file := filepath.Join(n.layout.configDir(), fmt.Sprintf("update-%d.pb", orig.Sequence+1))
	if err := os.WriteFile(file, env, 0o644); err != nil {
		return 0, err
	}
	// Each admin signs the file in place with their own key, as it would
	// travel from host to host; the last one signs and submits.
	for _, a := range by[:len(by)-1] {
		if _, err := a.run(ctx, "channel", "signconfigtx", "-f", file); err != nil {
			return 0, err
		}
	}
	// An orderer can accept an update and still lose it: a Raft leader
	// that the update evicts, or whose certificate it replaces, hands its
	// leadership over and forwards the update to the new leader, and
	// Fabric does not retry a forward that fails. The signed update is sent
	// again until the configuration moves; its read set pins the versions
	// it changes, so it applies at most once, and a repeat after it applied
	// is refused.
	var number uint64
	var submitErr error
	for attempt := 1; ; attempt++ {
		args := append([]string{"channel", "update", "-c", ChannelName, "-f", file}, submitter.ordererFlags(ctx)...)
		if _, err := submitter.run(ctx, args...); err != nil {
			if attempt == 1 {
				return 0, err
			}
			submitErr = err
		}
		wait, cancel := context.WithTimeout(ctx, configCommitWait)
		err = waitEvery(wait, heightPollInterval, "configuration update", nil, func(ctx context.Context) (bool, error) {
			cfg, num, err := submitter.fetchConfig(ctx)
			if err != nil {
				return false, err
			}
			number = num
			return cfg.Sequence > orig.Sequence, nil
		})
		cancel()
		if err == nil {
			return number, nil
		}
		if ctx.Err() != nil || attempt == maxConfigSubmits {
			return 0, errors.Join(err, submitErr)
		}
	}
}

// waitHeight waits until the peer of every organisation in orgs has at least
// height blocks.
func (n *Network) waitHeight(ctx context.Context, orgs []Org, height uint64) error {
	return forEach(len(orgs), func(i int) error {
		a := n.admin(orgs[i])
		return waitEvery(ctx, heightPollInterval, "block height of "+orgs[i].MSPID, nil, func(ctx context.Context) (bool, error) {
			h, err := a.height(ctx)
			return err == nil && h >= height, err
		})
	})
}

// fetch writes block which ("0", "config", a number) of the channel, from
// an orderer, to file.
func (a peerAdmin) fetch(ctx context.Context, which, file string) error {
	args := append([]string{"channel", "fetch", which, file, "-c", ChannelName}, a.ordererFlags(ctx)...)
	_, err := a.run(ctx, args...)
	return err
}

// fetchConfig returns the channel's current configuration, from an orderer,
// and the number of the block that set it.
func (a peerAdmin) fetchConfig(ctx context.Context) (*cb.Config, uint64, error) {
	f, err := os.CreateTemp(a.net.layout.orgDir(a.org.Name), "config-*.block")
	if err != nil {
		return nil, 0, err
	}
	f.Close()
	defer os.Remove(f.Name())
	if err := a.fetch(ctx, "config", f.Name()); err != nil {
		return nil, 0, err
	}
	raw, err := os.ReadFile(f.Name())
	if err != nil {
		return nil, 0, err
	}
	return configFromBlock(raw)
}

// height returns the block height of the admin's own peer.
func (a peerAdmin) height(ctx context.Context) (uint64, error) {
	out, err := a.run(ctx, "channel", "getinfo", "-c", ChannelName)
	if err != nil {
		return 0, err
	}
	// "Blockchain info: {"height":7,...}"
	return parseHeight(out, "getinfo")
}

// parseHeight reads the "height" of the JSON object that a command (peer
// channel getinfo, osnadmin channel list) printed after a prefix.
func parseHeight(out []byte, command string) (uint64, error) {
	i := bytes.IndexByte(out, '{')
	if i < 0 {
		return 0, fmt.Errorf("%w: %s printed %q", ErrCommandFail, command, out)
	}
	var h struct {
		Height uint64 `json:"height"`
	}
	if err := json.NewDecoder(bytes.NewReader(out[i:])).Decode(&h); err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrCommandFail, command, err)
	}
	return h.Height, nil
}

// stopNamed stops the process called name: one this Network started, or
// else the one its pid file records (a network another process started).
func (n *Network) stopNamed(name string) error {
	n.mu.Lock()
	i := slices.IndexFunc(n.proc, func(p *process) bool { return p.name == name })
	var p *process
	if i >= 0 {
		p = n.proc[i]
		n.proc = slices.Delete(n.proc, i, i+1)
	}
	n.mu.Unlock()
	if p != nil {
		return p.stop()
	}
	p, err := readPidFile(n.layout.pidFile(name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if p.pid == 0 {
		return os.Remove(p.pidFile)
	}
	return p.stop()
}
