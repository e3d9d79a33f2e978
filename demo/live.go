package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/node/config"
	"github.com/riskmesh/riskmesh/node/localnet"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// The live scene runs a consortium of its own, a provider and a requester
// with a small black list: a live price applies from the period after it
// is set, so the scene needs a rollover before its first live query and
// another to show the next period's catalog, and on the main network
// each rollover rebuilds every catalog (tens of seconds at the default
// scale). Its nodes are the same riskmesh binary over loopback QUIC.
const (
	liveProvider  = "LiveBankMSP"
	liveRequester = "LiveLenderMSP"
	// liveListSize is the provider's list before the scene adds to it.
	liveListSize = 200
	// livePrice is the black price in live mode, tokens per identifier.
	livePrice = 4
	// liveReason is the reason code of the identifier listed mid-period.
	liveReason = 3
	liveHeader = "phone,cat,reason,listed\n"
)

// liveMapping reads the scene's list: phone numbers of category code 1.
var liveMapping = &config.Mapping{ID: "phone", FixedType: "phone", Category: "cat", Reason: "reason", Listed: "listed"}

// livePhone is the scene's i-th phone number; i = liveListSize is the one
// listed mid-period, above it numbers listed nowhere.
func livePhone(seed uint64, i int) string { return fmt.Sprintf("+86137%08d", int(seed%1000)*10_000+i) }

// liveScene shows live mode against catalog mode: the provider serves its
// black list both ways; an identifier it lists mid-period is found by a
// live query seconds later, while a catalog query of the same period does
// not find it, and does in the next period.
func (d *session) liveScene(ctx context.Context) (err error) {
	done := d.step("live", "live mode: "+liveProvider+" lists an identifier mid-period; live mode finds it at once, catalog mode only next period")
	dir := filepath.Join(d.summary.Dir, "live")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	listPath := filepath.Join(dir, "livebank.csv")
	var list strings.Builder
	list.WriteString(liveHeader)
	for i := range liveListSize {
		fmt.Fprintf(&list, "%s,%d,%d,2026-11-01\n", livePhone(d.cfg.Seed, i), category, 1+i%8)
	}
	if err := os.WriteFile(listPath, []byte(list.String()), 0o600); err != nil {
		return err
	}
	net, err := localnet.Start(ctx, localnet.Config{
		Dir:    filepath.Join(dir, "nodes"),
		Binary: d.cfg.Binary,
		Members: []localnet.Member{
			{MSPID: liveProvider, Categories: []string{category.String()}, Sources: []config.Source{{
				Name: "black-list", Category: category.String(), Code: int(category), Kind: config.KindCSV, Path: listPath, Mapping: liveMapping,
			}}},
			{MSPID: liveRequester},
		},
		Prices: map[string]int64{category.String(): Price(category.String())},
		Tune: func(msp string, c *config.Config) {
			if msp == liveProvider {
				c.Provider.Serve = map[string][]string{category.String(): {config.ServeCatalog, config.ServeLive}}
			}
		},
	})
	if err != nil {
		return fmt.Errorf("live scene's network: %w", err)
	}
	defer func() { err = errors.Join(err, net.Stop()) }()
	fmt.Fprintf(d.out, "   a second consortium started: %s serves its %d black entries as catalog and live, %s queries\n", liveProvider, liveListSize, liveRequester)

	admin := net.Admin()
	if err := admin.SetModePrice(ctx, category.String(), accounting.ModeLive, livePrice); err != nil {
		return fmt.Errorf("live price: %w", err)
	}
	p, err := admin.Rollover(ctx)
	if err != nil {
		return fmt.Errorf("rollover: %w", err)
	}
	if err := net.WaitCatalogs(ctx, liveRequester, category.String(), p.Number, nil); err != nil {
		return err
	}
	requester, err := net.Client(liveRequester)
	if err != nil {
		return err
	}
	listed, newcomer, unlisted := livePhone(d.cfg.Seed, 0), livePhone(d.cfg.Seed, liveListSize), livePhone(d.cfg.Seed, liveListSize+1)
	ask := func(mode riskmeshv1.QueryMode) (found map[string]*riskmeshv1.Hit, amount int64, err error) {
		return liveQuery(ctx, requester, mode, listed, newcomer, unlisted)
	}
	// The live database is built after the catalog: wait until it answers.
	if err := net.Wait(ctx, "a live answer from "+liveProvider, func() error {
		_, _, err := ask(riskmeshv1.QueryMode_QUERY_MODE_LIVE)
		return err
	}); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "   period %d: black costs %d in catalog mode, %d in live mode\n", p.Number, Price(category.String()), livePrice)

	// Mid-period, the provider's export gains an entry and its node
	// rereads it.
	f, err := os.OpenFile(listPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%s,%d,%d,2026-12-06\n", newcomer, category, liveReason)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	listedAt := time.Now()
	provider, err := net.Client(liveProvider)
	if err != nil {
		return err
	}
	if _, err := provider.RefreshLists(ctx, &riskmeshv1.RefreshListsRequest{}); err != nil {
		return fmt.Errorf("refresh %s's list: %w", liveProvider, err)
	}
	found, amount, err := ask(riskmeshv1.QueryMode_QUERY_MODE_LIVE)
	if err != nil {
		return err
	}
	h := found[newcomer]
	if h == nil || h.GetLabel().GetReasonCode() != liveReason || found[listed] == nil || found[unlisted] != nil {
		return fmt.Errorf("live query after the list changed: found %d of listed, newcomer, unlisted, want the first two with the newcomer's reason %d", len(found), liveReason)
	}
	fmt.Fprintf(d.out, "   phone:%s listed mid-period; live mode finds it %s later (reason code %d), %d tokens for 3 identifiers\n",
		maskIdentifier(newcomer), time.Since(listedAt).Round(10*time.Millisecond), h.GetLabel().GetReasonCode(), amount)

	found, amount, err = ask(riskmeshv1.QueryMode_QUERY_MODE_CATALOG)
	if err != nil {
		return err
	}
	if found[newcomer] != nil || found[listed] == nil {
		return fmt.Errorf("catalog query of period %d: the newcomer found %t, an older entry %t; want false, true", p.Number, found[newcomer] != nil, found[listed] != nil)
	}
	fmt.Fprintf(d.out, "   catalog mode, same period: not found (period %d's catalog was built before), %d tokens\n", p.Number, amount)

	// A rollover needs the period before the current one closed.
	if err := admin.ClosePeriod(ctx, p.Number-1); err != nil {
		return fmt.Errorf("close period %d: %w", p.Number-1, err)
	}
	if p, err = admin.Rollover(ctx); err != nil {
		return fmt.Errorf("rollover: %w", err)
	}
	if err := net.WaitCatalogs(ctx, liveRequester, category.String(), p.Number, nil); err != nil {
		return err
	}
	if found, _, err = ask(riskmeshv1.QueryMode_QUERY_MODE_CATALOG); err != nil {
		return err
	}
	if found[newcomer] == nil {
		return fmt.Errorf("catalog query of period %d: the newcomer not found", p.Number)
	}
	fmt.Fprintf(d.out, "   catalog mode, period %d: found, in the catalog built from the list at the period's start\n", p.Number)
	done()
	return nil
}

// liveQuery asks the phones in mode and returns the hits by phone; an
// error if the provider did not answer.
func liveQuery(ctx context.Context, c riskmeshv1.RiskMeshClient, mode riskmeshv1.QueryMode, phones ...string) (map[string]*riskmeshv1.Hit, int64, error) {
	req := &riskmeshv1.QueryRequest{Category: category.String(), Mode: mode}
	for _, ph := range phones {
		req.Identifiers = append(req.Identifiers, &riskmeshv1.Identifier{Type: riskmeshv1.IdentifierType_IDENTIFIER_TYPE_PHONE, Value: ph})
	}
	res, err := runQuery(ctx, c, req)
	if err != nil {
		return nil, 0, err
	}
	for _, p := range res.GetProviders() {
		if p.GetStatus() != riskmeshv1.ProviderStatus_PROVIDER_STATUS_ANSWERED {
			return nil, 0, fmt.Errorf("%s: %s (%s)", p.GetProvider(), providerWord(p.GetStatus()), p.GetError().GetMessage())
		}
	}
	found := map[string]*riskmeshv1.Hit{}
	for _, it := range res.GetItems() {
		if hits := it.GetHits(); len(hits) > 0 && int(it.GetIndex()) < len(phones) {
			found[phones[it.GetIndex()]] = hits[0]
		}
	}
	return found, res.GetAmount(), nil
}
