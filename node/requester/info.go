package requester

import (
	"context"
	"slices"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// Providers lists the registry's providers (of req.category if set) with
// this node's reachability and catalog copies, and the current prices.
func (r *Requester) Providers(ctx context.Context, req *riskmeshv1.ProvidersRequest) (*riskmeshv1.ProvidersResponse, error) {
	v := r.cfg.Directory.View()
	resp := &riskmeshv1.ProvidersResponse{Prices: v.Prices, Period: v.Period.Number}
	catalogs := r.cfg.Catalogs.RemoteCatalogs()
	for _, inst := range v.Institutions() {
		if !inst.HasRole(accounting.RoleProvider) || inst.MSPID == r.cfg.MSPID {
			continue
		}
		var cats []string
		for c := range inst.OPRFKeys {
			cats = append(cats, c)
		}
		slices.Sort(cats)
		if req.GetCategory() != "" && !slices.Contains(cats, req.GetCategory()) {
			continue
		}
		info := &riskmeshv1.ProviderInfo{
			MspId: inst.MSPID, Name: inst.Name, Active: inst.Status == accounting.StatusActive,
			Categories: cats, Endpoint: inst.Endpoint, Reachable: r.cfg.Conns.Reachable(inst.MSPID),
			Quality: r.providerQuality(ctx, &v.Period, inst.MSPID, cats),
		}
		for _, c := range catalogs {
			if c.Provider == inst.MSPID && c.Period == v.Period.Number {
				info.Catalogs = append(info.Catalogs, c)
			}
		}
		resp.Providers = append(resp.Providers, info)
	}
	return resp, nil
}

// Balance reports this institution's ledger account as the registry cache
// last read it, with the spend of periods settlement has not counted yet.
// UnsettledEarnings is the provider side's to fill in.
func (r *Requester) Balance(ctx context.Context) (*riskmeshv1.BalanceResponse, error) {
	if err := r.refreshSpend(ctx); err != nil {
		r.cfg.Logger.Warn("refresh unsettled spend", "err", err)
	}
	v := r.cfg.Directory.View()
	a, _ := v.Account(r.cfg.MSPID)
	spend := r.budget.spent()
	resp := &riskmeshv1.BalanceResponse{
		MspId: r.cfg.MSPID, Balance: a.Balance, OverdraftLimit: a.Limit, Flagged: a.Flagged,
		Period: v.Period.Number, UnsettledSpend: spend, Headroom: a.Balance + a.Limit - spend,
	}
	if !v.AsOf.IsZero() {
		resp.LedgerAsOf = timestamppb.New(v.AsOf)
	}
	return resp, nil
}
