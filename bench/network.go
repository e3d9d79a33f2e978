package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/riskmesh/riskmesh/bench/synth"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/localnet"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Settings of a bench network.
const (
	// price is the consortium price per item; the requester's overdraft
	// limit is far beyond what a run spends.
	price = 1
	limit = 1 << 50
	// readyTimeout bounds the wait for every catalog to be published and
	// downloaded: a 10^7-entry catalog build takes minutes on 2 cores.
	readyTimeout = 30 * time.Minute
	// unservedCategory is a category no member provides. A network for
	// the harness's rows has its providers' nodes download the catalogs
	// of that one only, that is none: the requester alone asks.
	unservedCategory = "bench-unserved"
)

// networkConfig describes a bench network: the regulator hosting the
// embedded ledger, one provider per list of a workload and the requester
// daemonRequester, each a `riskmesh node` process (node/localnet).
type networkConfig struct {
	binary string // the riskmesh executable
	dir    string // holds the lists and the node directories
	// tune, if set, adjusts each node's configuration before the
	// network's own settings (DaemonConfig.Tune).
	tune func(mspID string, c *config.Config)
	// live makes every provider serve the category live as well as by
	// catalog, and the start wait for their live databases too.
	live bool
	// relayed puts a relay (relay.go) in front of every provider, which
	// the other nodes dial: it counts the bytes between the requester
	// and the providers and, with link, emulates that link.
	relayed bool
	link    *WAN
	// rows sets the network up for the harness's rows: the providers allow
	// each request slowPhase, as the harness's other transports do (a
	// large batch at a large list takes longer than the defaults allow),
	// and download no catalogs of each other, so that the requester's
	// work alone is measured.
	rows bool
	// pprof has every node serve its profiles on loopback
	// (localnet.Config.Pprof), for DaemonConfig.Profile.
	pprof bool
	// requester, if set, is the executable the requester daemonRequester
	// runs instead of binary; compare, if set, a second one, which a
	// second requester, comparedRequester, runs (DaemonConfig.Compare).
	requester, compare string
	log                *slog.Logger
}

// daemonNet is a running bench network.
type daemonNet struct {
	*localnet.Network
	api       riskmeshv1.RiskMeshClient // the requester's business API
	providers []string
	// relays are in front of the providers, with networkConfig.relayed.
	relays []*relay
}

// startNetwork writes w's lists, starts the network nc describes and
// waits until the requester holds every provider's verified catalog and,
// with nc.live, every provider's live database answers.
func startNetwork(ctx context.Context, nc networkConfig, w *workload) (_ *daemonNet, err error) {
	lists := filepath.Join(nc.dir, "lists")
	if err := os.MkdirAll(lists, 0o700); err != nil {
		return nil, err
	}
	sm := synth.Mapping()
	mapping := &config.Mapping{ID: sm.ID, Type: sm.Type, Category: sm.Category, Reason: sm.Reason, Listed: sm.Listed, Reference: sm.Reference}
	d := &daemonNet{}
	var members []localnet.Member
	for _, l := range w.lists {
		path := filepath.Join(lists, l.MSPID+".csv")
		if err := writeList(path, l); err != nil {
			return nil, err
		}
		members = append(members, localnet.Member{MSPID: l.MSPID, Categories: []string{category.String()},
			Sources: []config.Source{{Name: "list", Category: category.String(), Code: int(category), Kind: config.KindCSV, Path: path, Mapping: mapping}}})
		d.providers = append(d.providers, l.MSPID)
	}
	members = append(members, localnet.Member{MSPID: daemonRequester, Limit: limit, Binary: nc.requester})
	requesters := []string{daemonRequester}
	if nc.compare != "" {
		members = append(members, localnet.Member{MSPID: comparedRequester, Limit: limit, Binary: nc.compare})
		requesters = append(requesters, comparedRequester)
	}
	// Tune cannot fail; the first relay that does not start fails Start
	// once localnet returns.
	var tuneErr error
	defer func() {
		if err != nil {
			err = errors.Join(err, d.close())
		}
	}()
	lc := localnet.Config{
		Dir: filepath.Join(nc.dir, "nodes"), Binary: nc.binary, Members: members,
		Prices: map[string]int64{category.String(): price},
		Tune: func(msp string, c *config.Config) {
			if nc.tune != nil {
				nc.tune(msp, c)
			}
			if err := d.tune(nc, msp, c); err != nil && tuneErr == nil {
				tuneErr = err
			}
		},
		Progress: func(s string) { nc.log.Info(s) },
		Pprof:    nc.pprof,
	}
	if nc.live {
		lc.LivePrices = lc.Prices
	}
	d.Network, err = localnet.Start(ctx, lc)
	if err != nil {
		return nil, errors.Join(err, tuneErr)
	}
	if tuneErr != nil {
		return nil, tuneErr
	}
	if d.api, err = d.Client(daemonRequester); err != nil {
		return nil, err
	}
	wait, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	for _, r := range requesters {
		if err := d.WaitCatalogs(wait, r, category.String(), 0, nil); err != nil {
			return nil, err
		}
	}
	if nc.live {
		if err := d.waitLive(wait, w); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// tune applies the network's settings to a provider's node.yaml: live
// service, the harness rows' settings and the relay in front of it. The relay takes the peer address localnet picked, which
// the provider registers as its endpoint and localnet checks it
// registered, and the node listens on a fresh port behind it. (Should
// localnet move the node to new ports because another program took one,
// the relay would lead nowhere: the registration check then fails Start.)
func (d *daemonNet) tune(nc networkConfig, msp string, c *config.Config) error {
	if !slices.Contains(d.providers, msp) {
		return nil
	}
	if nc.live {
		c.Provider.Serve = map[string][]string{category.String(): {config.ServeCatalog, config.ServeLive}}
	}
	if nc.rows {
		c.Peer.ReadTimeout, c.Peer.HandleTimeout, c.Peer.WriteTimeout = slowPhase, slowPhase, slowPhase
		c.Requester.Categories = []string{unservedCategory}
	}
	if !nc.relayed {
		return nil
	}
	listen, err := freeUDP()
	if err != nil {
		return err
	}
	target, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return err
	}
	r, err := newRelay(c.Listen.Peer, target, nc.link)
	if err != nil {
		return fmt.Errorf("relay in front of %s: %w", msp, err)
	}
	d.relays = append(d.relays, r)
	c.Listen.Endpoint, c.Listen.Peer = c.Listen.Peer, listen
	return nil
}

// freeUDP returns a loopback UDP address whose port was free a moment ago.
func freeUDP() (string, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.LocalAddr().String(), nil
}

// waitLive asks one identifier of every provider in live mode until each
// answers: a provider's live database is built after its catalog, and
// until then it answers UNAVAILABLE. The answers are checked as any.
func (d *daemonNet) waitLive(ctx context.Context, w *workload) error {
	b, _, err := w.oneIdentifier(0)
	if err != nil {
		return err
	}
	return d.Wait(ctx, "every provider's live database", func() error {
		_, err := askChecked(ctx, d.api, b, d.request(b, true))
		return err
	})
}

// request is the query of b to every provider, in live mode if live, with
// the harness's deadline.
func (d *daemonNet) request(b *synth.Batch, live bool) *riskmeshv1.QueryRequest {
	req := b.Request()
	req.Providers = d.providers
	req.Deadline = durationpb.New(slowPhase)
	if live {
		req.Mode = riskmeshv1.QueryMode_QUERY_MODE_LIVE
	}
	return req
}

// askChecked sends req, a query of b, through the business API api and
// checks the final result against b's planted hits; it returns the
// (item, provider) hits found. It reads the stream to its end, as the
// node counts a query against api.max_queries until its call returns.
func askChecked(ctx context.Context, api riskmeshv1.RiskMeshClient, b *synth.Batch, req *riskmeshv1.QueryRequest) (int, error) {
	stream, err := api.Query(ctx, req)
	if err != nil {
		return 0, err
	}
	var res *riskmeshv1.QueryResult
	for {
		ev, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, fmt.Errorf("query stream: %w", err)
		}
		if r := ev.GetResult(); r != nil {
			res = r
		}
	}
	if res == nil {
		return 0, fmt.Errorf("%w: the stream ended without a result", ErrWrongResult)
	}
	for _, pr := range res.GetProviders() {
		if pr.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			return 0, fmt.Errorf("%w: %s did not answer: %v %s", ErrWrongResult, pr.GetProvider(), pr.GetStatus(), pr.GetError().GetMessage())
		}
	}
	if n := len(res.GetProviders()); n != len(req.GetProviders()) {
		return 0, fmt.Errorf("%w: %d providers answered, asked %d", ErrWrongResult, n, len(req.GetProviders()))
	}
	if err := b.Check(res); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrWrongResult, err)
	}
	hits := 0
	for _, it := range res.GetItems() {
		hits += len(it.GetHits())
	}
	return hits, nil
}

// relayed returns the bytes the relays have carried so far, to the
// providers and back.
func (d *daemonNet) relayed() (up, down int64) {
	for _, r := range d.relays {
		up, down = up+r.up.Load(), down+r.down.Load()
	}
	return up, down
}

// pids are the node processes' ids, the regulator's first.
func (d *daemonNet) pids() []int { return nodePIDs(d.Network) }

// nodePIDs are the ids of n's node processes, the regulator's first.
func nodePIDs(n *localnet.Network) []int {
	var pids []int
	for _, node := range n.Nodes() {
		pids = append(pids, node.PID())
	}
	return pids
}

// close stops the nodes, then the relays.
func (d *daemonNet) close() error {
	var errs []error
	if d.Network != nil {
		errs = append(errs, d.Stop())
	}
	for _, r := range d.relays {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// writeList writes l as a CSV file, which a node reads as an
// institution's export.
func writeList(path string, l synth.List) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = synth.WriteCSV(bw, l)
	if err == nil {
		err = bw.Flush()
	}
	return errors.Join(err, f.Close())
}
