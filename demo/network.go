package demo

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/localnet"
)

// startNetwork starts the regulator and one node per list, each providing
// the categories its list holds.
func (d *session) startNetwork(ctx context.Context, dir string, cons *synth.Consortium) error {
	done := d.step("start", "starting the regulator (also the auditor) and four institutions (separate processes, loopback QUIC)")
	m := synth.Mapping()
	mapping := &config.Mapping{ID: m.ID, Type: m.Type, Category: m.Category, Reason: m.Reason, Listed: m.Listed, Reference: m.Reference}
	var members []localnet.Member
	for i, inst := range institutions() {
		member := localnet.Member{MSPID: inst.MSPID}
		for _, c := range synth.Categories {
			if inst.Categories[c] == 0 {
				continue
			}
			member.Categories = append(member.Categories, c.String())
			member.Sources = append(member.Sources, config.Source{
				Name: c.String() + "-list", Category: c.String(), Code: int(c), Kind: listFormat(i),
				Path: listPath(filepath.Join(dir, "lists"), cons.Lists[i].MSPID, listFormat(i)), Mapping: mapping,
			})
		}
		members = append(members, member)
	}
	net, err := localnet.Start(ctx, localnet.Config{
		Dir:      filepath.Join(dir, "nodes"),
		Binary:   d.cfg.Binary,
		Members:  members,
		Prices:   prices,
		Auditor:  true,
		Progress: func(s string) { fmt.Fprintf(d.out, "   %s\n", s) },
	})
	if err != nil {
		return err
	}
	d.net = net
	done()
	return nil
}

// waitCatalogs shows the providers' builds of period's catalogs and the
// requester's downloads until the requester can query; timing names the
// step's duration in the summary.
func (d *session) waitCatalogs(ctx context.Context, period uint64, timing string) error {
	done := d.step(timing, fmt.Sprintf("building period %d's %s catalogs and downloading them to %s", period, category, Requester))
	bars := newProgress(d.out, d.cfg.Terminal)
	err := d.net.WaitCatalogs(ctx, Requester, category.String(), period, func(ps []localnet.CatalogProgress) {
		for _, p := range ps {
			switch {
			case p.Ready:
				bars.update(p.Provider, "ready", 1, 1)
			case p.Published:
				bars.update(p.Provider, "download", p.Downloaded, p.ToDownload)
			case p.ToBuild == 0:
				bars.update(p.Provider, "build", p.Built, d.listed[p.Provider])
			default:
				bars.update(p.Provider, "build", p.Built, p.ToBuild)
			}
		}
		bars.flush()
	})
	bars.end()
	if err != nil {
		return err
	}
	done()
	return nil
}

// keep prints how to use the running network and waits for Ctrl-C. The
// quality scene left it in its priced period, with the requester's black
// catalogs of that period ready.
func (d *session) keep(ctx context.Context, dir string) error {
	p, err := d.net.Admin().Period(ctx, 0)
	if err != nil {
		return fmt.Errorf("current period: %w", err)
	}
	req, err := d.net.Node(Requester)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, `
the network keeps running in period %d. In another terminal:
  riskmesh query --api unix://%s --category black --file %s
  riskmesh ledger --config %s balances
  riskmesh ledger --config %s entries %d
  riskmesh ledger --config %s quality --provider %s
press Ctrl-C to stop every node.
`, p.Number, req.Socket(), filepath.Join(dir, QueryFile), d.net.Regulator().Config(), d.net.Regulator().Config(), p.Number,
		d.net.Regulator().Config(), Unreliable)
	<-ctx.Done()
	return nil
}
