package fabric

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	ob "github.com/hyperledger/fabric-protos-go-apiv2/orderer"
	"github.com/hyperledger/fabric-protos-go-apiv2/orderer/etcdraft"
	"google.golang.org/protobuf/proto"
)

// The ordering service's members are its consenters: the channel
// configuration's etcdraft metadata lists each orderer's endpoint and the
// TLS certificate it presents, as server and as cluster client. The
// orderers admit a Raft message only from a client certificate whose
// public key a consenter of the channel holds, so an orderer's TLS key
// changes only through a configuration update of the Orderer group, signed
// by a majority of the ordering organisations' admins (the Orderer group's
// Admins policy). This file changes that set.

// renewedSuffix names the files that hold an orderer's re-issued TLS key
// and certificate between their issue and the orderer's restart.
const renewedSuffix = ".renewed"

// RenewOrdererTLS re-issues the TLS certificate of the orderer that
// organisation org runs, under the TLS CA of its ordering organisation and
// with a new key, and moves the channel to it (docs/operations.md,
// "Renewing an orderer's TLS certificate"):
//
//  1. the new key and certificate are written beside the current ones;
//  2. a configuration update replaces the orderer's client and server TLS
//     certificates in the consenter set, signed by the ordering admins of
//     signers (MSP ids of the organisations that run orderers, a majority
//     of them);
//  3. the orderer is restarted with the new pair and catches up; from the
//     update on, the other orderers refuse its old certificate.
//
// Between 2 and 3 the orderer cannot talk to the others; the remaining
// majority keeps ordering, so renew one orderer at a time.
func (n *Network) RenewOrdererTLS(ctx context.Context, org string, signers []string) error {
	return n.onOrderer(ctx, org, signers, func(ctx context.Context, _ Info, ord Orderer, by []peerAdmin) error {
		l := n.layout
		tls := filepath.Join(l.ordererNodeDir(org), "tls")
		certFile, keyFile := filepath.Join(tls, "server.crt"), filepath.Join(tls, "server.key")
		newCert, newKey := certFile+renewedSuffix, keyFile+renewedSuffix
		current, err := os.ReadFile(certFile)
		if err != nil {
			return err
		}
		if err := replaceFile(newCert, current, 0o644); err != nil {
			return err
		}
		if err := reissue(filepath.Join(l.ordererOrgDir(org), "tlsca"), newCert, newKey, time.Now()); err != nil {
			return errors.Join(fmt.Errorf("renew the TLS certificate of %s's orderer: %w", org, err), removeRenewed(newCert, newKey))
		}
		pemCert, err := os.ReadFile(newCert)
		if err != nil {
			return err
		}
		number, err := n.submitUpdate(ctx, by, func(c *cb.Config) error {
			return changeConsenters(c, func(cs []*etcdraft.Consenter) ([]*etcdraft.Consenter, error) {
				i := consenterIndex(cs, ord.Address)
				if i < 0 {
					return nil, fmt.Errorf("%w: %s is not a consenter", ErrUnknownOrderer, ord.Address)
				}
				cs[i].ClientTlsCert, cs[i].ServerTlsCert = pemCert, pemCert
				return cs, nil
			})
		})
		if err != nil {
			// The channel still lists the old certificate, which the
			// orderer keeps using.
			return errors.Join(fmt.Errorf("renew the TLS certificate of %s's orderer: %w", org, err), removeRenewed(newCert, newKey))
		}
		// An orderer reads its TLS pair at start. Key first, as reissue
		// does.
		if err := n.stopNamed("orderer-" + org); err != nil {
			return err
		}
		if err := os.Rename(newKey, keyFile); err != nil {
			return err
		}
		if err := os.Rename(newCert, certFile); err != nil {
			return err
		}
		return n.restartOrderer(ctx, ord, number+1)
	})
}

// onOrderer runs op, an operation on the orderer organisation org runs
// that the ordering admins of signers sign, within Config.StartTimeout,
// with the network as the operation starts.
func (n *Network) onOrderer(ctx context.Context, org string, signers []string, op func(ctx context.Context, info Info, ord Orderer, by []peerAdmin) error) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.StartTimeout)
	defer cancel()
	info := n.Info()
	ord, err := info.orderer(org)
	if err != nil {
		return err
	}
	by, err := n.ordererAdmins(info, signers)
	if err != nil {
		return err
	}
	return op(ctx, info, ord, by)
}

// RemoveOrderer takes the orderer that organisation org runs out of the
// channel (docs/operations.md, "Adding and removing an orderer"): an
// update signed by the ordering admins of signers (the Orderer group's
// Admins: a majority of the ordering organisations) drops it from the
// consenter set, and it is stopped; then org's ordering admin drops its
// endpoint from its ordering organisation (the organisation's own Admins),
// so that peers and clients stop trying it. The others keep ordering; a
// leader that is removed hands its leadership over first. The ordering
// organisation stays on the channel, so that AddOrderer can bring the
// orderer back.
func (n *Network) RemoveOrderer(ctx context.Context, org string, signers []string) error {
	return n.onOrderer(ctx, org, signers, func(ctx context.Context, info Info, ord Orderer, by []peerAdmin) error {
		if len(info.Orderers) == 1 {
			return fmt.Errorf("%w: the orderer of %s is the last one", ErrConfig, org)
		}
		self, err := n.ordererAdmins(info, []string{info.mspOf(org)})
		if err != nil {
			return err
		}
		// The updates are followed through the other orderers: the removed
		// one stops serving the channel.
		n.setOrderers(slices.DeleteFunc(slices.Clone(info.Orderers), func(o Orderer) bool { return o.Org == org }))
		_, err = n.submitUpdate(ctx, by, func(c *cb.Config) error {
			return changeConsenters(c, func(cs []*etcdraft.Consenter) ([]*etcdraft.Consenter, error) {
				i := consenterIndex(cs, ord.Address)
				if i < 0 {
					return nil, fmt.Errorf("%w: %s is not a consenter", ErrUnknownOrderer, ord.Address)
				}
				return slices.Delete(cs, i, i+1), nil
			})
		})
		if err != nil {
			n.setOrderers(info.Orderers)
			return fmt.Errorf("remove the orderer of %s from the consenters: %w", org, err)
		}
		if err := n.stopNamed("orderer-" + org); err != nil {
			return err
		}
		if err := n.save(); err != nil {
			return err
		}
		_, err = n.submitUpdate(ctx, self, func(c *cb.Config) error {
			return changeEndpoints(c, ord.MSPID, func(a []string) []string {
				return slices.DeleteFunc(a, func(e string) bool { return e == ord.Address })
			})
		})
		if err != nil && !errors.Is(err, ErrNoConfigChange) {
			return fmt.Errorf("remove the endpoint of %s's orderer: %w", org, err)
		}
		return waitFor(ctx, "every consenter active", nil, n.consentersActive)
	})
}

// AddOrderer has organisation org run an orderer of the channel again, in
// the free orderer slot, with an empty ledger: an update signed by the
// ordering admins of signers (a majority of the ordering organisations)
// adds it to the consenter set; the orderer starts, is joined with the
// channel's latest configuration block, fetches the chain from the others
// and takes part in Raft; only then does org's ordering admin add its
// endpoint, so that no peer or client is sent to an orderer that does not
// serve the channel yet. org's ordering organisation must be on the
// channel already (it ran an orderer before): admitting a new ordering
// organisation is not automated here.
func (n *Network) AddOrderer(ctx context.Context, org string, signers []string) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.StartTimeout)
	defer cancel()
	info := n.Info()
	if _, err := info.orderer(org); err == nil {
		return fmt.Errorf("%w: %s runs an orderer already", ErrConfig, org)
	}
	member := slices.IndexFunc(info.Orgs, func(o Org) bool { return o.Name == org })
	if member < 0 {
		return fmt.Errorf("%w: %s", ErrUnknownOrg, org)
	}
	spec := info.Orgs[member].spec()
	slot := freeOrdererSlot(info)
	if slot < 0 {
		return fmt.Errorf("%w: %d orderers run", ErrNoSlot, len(info.Orderers))
	}
	l := n.layout
	ord := describeOrderer(l, info.BasePort, slot, spec)
	by, err := n.ordererAdmins(info, signers)
	if err != nil {
		return err
	}
	joined := info
	joined.Orderers = append(slices.Clone(info.Orderers), ord)
	self, err := n.ordererAdmins(joined, []string{spec.MSPID})
	if err != nil {
		return err
	}
	pemCert, err := os.ReadFile(ord.TLSCert)
	if err != nil {
		return fmt.Errorf("%w: %s has no ordering organisation: %v", ErrUnknownOrderer, org, err)
	}
	port, err := strconv.Atoi(ord.Address[strings.LastIndexByte(ord.Address, ':')+1:])
	if err != nil {
		return err
	}
	// A fresh ledger: the orderer fetches the chain from the others.
	if err := os.RemoveAll(filepath.Join(l.ordererDir(org), "data")); err != nil {
		return err
	}
	var clusterCAs []string
	for _, o := range joined.Orderers {
		clusterCAs = append(clusterCAs, l.ordererTLSCA(o.Org))
	}
	if err := writeOrdererConfig(n.sampleDir, l, info.BasePort, slot, spec, clusterCAs); err != nil {
		return err
	}
	number, err := n.submitUpdate(ctx, by, func(c *cb.Config) error {
		if c.GetChannelGroup().GetGroups()["Orderer"].GetGroups()[ord.MSPID] == nil {
			return fmt.Errorf("%w: %s is not an ordering organisation of the channel", ErrUnknownOrderer, ord.MSPID)
		}
		return changeConsenters(c, func(cs []*etcdraft.Consenter) ([]*etcdraft.Consenter, error) {
			return append(cs, &etcdraft.Consenter{Host: "127.0.0.1", Port: uint32(port),
				ClientTlsCert: pemCert, ServerTlsCert: pemCert}), nil
		})
	})
	if err != nil {
		return fmt.Errorf("add the orderer of %s to the consenters: %w", org, err)
	}
	block := filepath.Join(l.ordererDir(org), "join.block")
	if err := n.admin(info.Orgs[member]).fetch(ctx, "config", block); err != nil {
		return err
	}
	p, err := n.startOrderer(ord)
	if err != nil {
		return err
	}
	if err := n.joinOrderer(ctx, ord, p, block); err != nil {
		return err
	}
	if err := n.waitOrdererHeight(ctx, ord, p, number+1); err != nil {
		return err
	}
	n.setOrderers(joined.Orderers)
	if err := waitFor(ctx, "every consenter active", p, n.consentersActive); err != nil {
		return err
	}
	_, err = n.submitUpdate(ctx, self, func(c *cb.Config) error {
		return changeEndpoints(c, ord.MSPID, func(a []string) []string {
			if slices.Contains(a, ord.Address) {
				return a
			}
			return append(a, ord.Address)
		})
	})
	if err != nil && !errors.Is(err, ErrNoConfigChange) {
		return fmt.Errorf("add the endpoint of %s's orderer: %w", org, err)
	}
	return n.save()
}

// mspOf returns the MSP id of the member called name, or "".
func (i Info) mspOf(name string) string {
	for _, o := range i.Orgs {
		if o.Name == name {
			return o.MSPID
		}
	}
	return ""
}

// Consenters returns the endpoints of the channel's consenters, as its
// current configuration lists them, read from an orderer.
func (n *Network) Consenters(ctx context.Context) ([]string, error) {
	cfg, err := n.channelConfig(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	err = changeConsenters(cfg, func(cs []*etcdraft.Consenter) ([]*etcdraft.Consenter, error) {
		for _, c := range cs {
			out = append(out, net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))))
		}
		return cs, nil
	})
	slices.Sort(out)
	return out, err
}

// setOrderers records the orderers that serve the channel; the first one
// is the network's advertised orderer.
func (n *Network) setOrderers(os []Orderer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.info.Orderers = slices.Clone(os)
	if len(os) > 0 {
		n.info.OrdererAddress, n.info.OrdererTLSCACert, n.info.OrdererOpsURL = os[0].Address, os[0].TLSCACert, os[0].OperationsURL
	}
}

// freeOrdererSlot returns the lowest orderer port slot no orderer uses, or -1.
func freeOrdererSlot(info Info) int {
	for slot := range maxOrderers {
		if !slices.ContainsFunc(info.Orderers, func(o Orderer) bool { return o.Slot == slot }) {
			return slot
		}
	}
	return -1
}

// restartOrderer starts orderer o, which is already joined to the channel,
// and waits until it has height blocks and the cluster has a leader.
func (n *Network) restartOrderer(ctx context.Context, o Orderer, height uint64) error {
	p, err := n.startOrderer(o)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, "health of "+p.name, p, httpReady(o.OperationsURL+"/healthz")); err != nil {
		return err
	}
	if err := n.waitOrdererHeight(ctx, o, p, height); err != nil {
		return err
	}
	return waitFor(ctx, "every consenter active", p, n.consentersActive)
}

// consentersActive reports whether every orderer counts every consenter of
// the channel active: a leader refuses a change of the consenter set that
// could lose the quorum with the nodes it sees, so each change waits for
// the one before to settle.
func (n *Network) consentersActive(ctx context.Context) (bool, error) {
	active := fmt.Sprintf("consensus_etcdraft_active_nodes{channel=%q}", ChannelName)
	size := fmt.Sprintf("consensus_etcdraft_cluster_size{channel=%q}", ChannelName)
	for _, o := range n.Info().Orderers {
		samples, err := metricSamples(ctx, o.OperationsURL+"/metrics")
		if err != nil {
			return false, err
		}
		if samples[active] == "" || samples[active] != samples[size] {
			return false, fmt.Errorf("orderer of %s sees %s of %s consenters active", o.Org, samples[active], samples[size])
		}
	}
	return true, nil
}

// waitOrdererHeight waits until orderer o reports at least height blocks
// of the channel through its channel participation API.
func (n *Network) waitOrdererHeight(ctx context.Context, o Orderer, p *process, height uint64) error {
	return waitEvery(ctx, heightPollInterval, "block height of "+p.name, p, func(ctx context.Context) (bool, error) {
		h, err := n.ordererHeight(ctx, o)
		return err == nil && h >= height, err
	})
}

// ordererHeight returns the channel's block height at orderer o.
func (n *Network) ordererHeight(ctx context.Context, o Orderer) (uint64, error) {
	out, err := n.osnadmin(ctx, o, "channel", "list", "--channelID", ChannelName)
	if err != nil {
		return 0, err
	}
	// "Status: 200\n{"name":"riskmesh",...,"height":7}"
	return parseHeight(out, "osnadmin channel list")
}

// osnadmin runs the channel participation CLI against orderer o as its
// ordering organisation's admin.
func (n *Network) osnadmin(ctx context.Context, o Orderer, args ...string) ([]byte, error) {
	tls := n.layout.ordererAdminTLSDir(o.Org)
	args = append(args, "-o", o.AdminAddress, "--ca-file", o.TLSCACert,
		"--client-cert", filepath.Join(tls, "client.crt"), "--client-key", filepath.Join(tls, "client.key"))
	return runTool(ctx, filepath.Join(n.cfg.BinDir, "osnadmin"), nil, "", args...)
}

// ordererAdmins returns the admins of the ordering organisations that the
// organisations mspIDs run.
func (n *Network) ordererAdmins(info Info, mspIDs []string) ([]peerAdmin, error) {
	members, err := admins(info.Orgs, mspIDs)
	if err != nil {
		return nil, err
	}
	var by []peerAdmin
	for _, o := range members {
		ord, err := info.orderer(o.Name)
		if err != nil {
			return nil, err
		}
		a := n.admin(o)
		a.mspID = ord.MSPID
		a.mspDir = filepath.Join(n.layout.ordererOrgDir(o.Name), "users", "Admin@"+ordererDomain(o.Name), "msp")
		by = append(by, a)
	}
	return by, nil
}

// orderer returns the orderer that organisation org (its name) runs.
func (i Info) orderer(org string) (Orderer, error) {
	for _, o := range i.Orderers {
		if o.Org == org {
			return o, nil
		}
	}
	return Orderer{}, fmt.Errorf("%w: %s runs none", ErrUnknownOrderer, org)
}

// changeConsenters rewrites the etcdraft consenter set of configuration c
// with change.
func changeConsenters(c *cb.Config, change func([]*etcdraft.Consenter) ([]*etcdraft.Consenter, error)) error {
	og := c.GetChannelGroup().GetGroups()["Orderer"]
	v := og.GetValues()["ConsensusType"]
	if v == nil {
		return fmt.Errorf("%w: no Orderer ConsensusType", ErrBadConfigBlock)
	}
	ct := &ob.ConsensusType{}
	if err := proto.Unmarshal(v.Value, ct); err != nil {
		return fmt.Errorf("%w: consensus type: %v", ErrBadConfigBlock, err)
	}
	if ct.Type != "etcdraft" {
		return fmt.Errorf("%w: consensus type %q, want etcdraft", ErrBadConfigBlock, ct.Type)
	}
	md := &etcdraft.ConfigMetadata{}
	if err := proto.Unmarshal(ct.Metadata, md); err != nil {
		return fmt.Errorf("%w: etcdraft metadata: %v", ErrBadConfigBlock, err)
	}
	cs, err := change(md.Consenters)
	if err != nil {
		return err
	}
	md.Consenters = cs
	det := proto.MarshalOptions{Deterministic: true}
	if ct.Metadata, err = det.Marshal(md); err != nil {
		return err
	}
	v.Value, err = det.Marshal(ct)
	return err
}

// consenterIndex returns the index of the consenter at address, or -1.
func consenterIndex(cs []*etcdraft.Consenter, address string) int {
	for i, c := range cs {
		if net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) == address {
			return i
		}
	}
	return -1
}

// changeEndpoints rewrites the orderer endpoints of ordering organisation
// mspID in configuration c.
func changeEndpoints(c *cb.Config, mspID string, change func([]string) []string) error {
	og := c.GetChannelGroup().GetGroups()["Orderer"].GetGroups()[mspID]
	if og == nil {
		return fmt.Errorf("%w: no ordering organisation %s", ErrBadConfigBlock, mspID)
	}
	v := og.Values["Endpoints"]
	if v == nil {
		v = &cb.ConfigValue{ModPolicy: "Admins"}
		og.Values["Endpoints"] = v
	}
	addrs := &cb.OrdererAddresses{}
	if err := proto.Unmarshal(v.Value, addrs); err != nil {
		return fmt.Errorf("%w: endpoints of %s: %v", ErrBadConfigBlock, mspID, err)
	}
	addrs.Addresses = change(addrs.Addresses)
	var err error
	v.Value, err = proto.MarshalOptions{Deterministic: true}.Marshal(addrs)
	return err
}

// removeRenewed removes a re-issued pair the channel never adopted.
func removeRenewed(files ...string) error {
	var errs []error
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
