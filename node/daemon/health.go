package daemon

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
)

// health reports the node's components from what it already knows, without
// calling the ledger or peers, so it answers when they are down.
func (n *node) health(context.Context) *riskmeshv1.HealthResponse {
	v := n.dir.View()
	resp := &riskmeshv1.HealthResponse{
		Status:  riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING,
		Version: n.cfg.Version,
		MspId:   n.cfg.MSPID,
		Period:  v.Period.Number,
	}
	add := func(name string, st riskmeshv1.HealthStatus, msg string) {
		resp.Components = append(resp.Components, &riskmeshv1.ComponentHealth{Name: name, Status: st, Message: msg})
		if st > resp.Status {
			resp.Status = st
		}
	}
	switch err := n.dir.LastError(); {
	case v.AsOf.IsZero() && err != nil:
		add("ledger", riskmeshv1.HealthStatus_HEALTH_STATUS_NOT_SERVING, "never reached: "+err.Error())
	case v.AsOf.IsZero():
		add("ledger", riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED, "registry not read yet")
	case err != nil:
		add("ledger", riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED, "using the registry as of "+v.AsOf.UTC().Format("2006-01-02T15:04:05Z")+": "+err.Error())
	default:
		add("ledger", riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING, "")
	}
	if n.journal != nil {
		resp.OutboxDepth = uint64(n.journal.Depth())
		st, msg := riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING, ""
		if resp.OutboxDepth > 0 && n.dir.LastError() != nil {
			st, msg = riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED, "entries queued while the ledger is unreachable"
		}
		add("outbox", st, msg)
	}
	if n.prov != nil {
		st, msg := n.catalogHealth(v.Period.Number)
		add("catalogs", st, msg)
	}
	if n.push != nil {
		// Reported, but left out of the node's status: queries do not
		// need push delivery, whose events wait durably.
		st, msg := n.pushHealth()
		resp.Components = append(resp.Components, &riskmeshv1.ComponentHealth{Name: "push", Status: st, Message: msg})
	}
	// Components sorted by name, as the API promises.
	slices.SortFunc(resp.Components, func(a, b *riskmeshv1.ComponentHealth) int { return strings.Compare(a.GetName(), b.GetName()) })
	return resp
}

// catalogHealth is DEGRADED while a provided category has no catalog
// serving for the current period (being built, or its build failed):
// requesters cannot query it here until one is published. It is DEGRADED
// too while a list source's latest read failed: its catalogs are built
// from its last good read, whose age the message gives, until it reads
// well again (docs/operations.md, "Updating lists"). Messages name
// categories and sources, configuration only, never a list's values.
func (n *node) catalogHealth(period uint64) (riskmeshv1.HealthStatus, string) {
	var problems []string
	for _, u := range n.prov.UnreadableSources() {
		if u.GetLastGood() == nil {
			problems = append(problems, "source "+u.GetSource()+" unreadable and no last good read of it")
		} else {
			problems = append(problems, "source "+u.GetSource()+" unreadable, serving its last good read of "+
				time.Since(u.GetLastGood().AsTime()).Round(time.Second).String()+" ago")
		}
	}
	if period == 0 {
		if len(problems) > 0 {
			return riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED, strings.Join(problems, "; ")
		}
		return riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING, "no period opened yet"
	}
	serving := map[string]bool{}
	for _, c := range n.prov.CatalogStatus("") {
		if c.GetServing() && c.GetPeriod() == period {
			serving[c.GetCategory()] = true
		}
	}
	var missing []string
	for _, s := range n.cfg.Provider.Sources {
		if !serving[s.Category] && !slices.Contains(missing, s.Category) {
			missing = append(missing, s.Category)
		}
	}
	if len(missing) > 0 {
		problems = append([]string{"no catalog serving this period for " + strings.Join(missing, ", ")}, problems...)
	}
	if len(problems) > 0 {
		return riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED, strings.Join(problems, "; ")
	}
	return riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING, ""
}

// listSourceStale is, per list source, how old the last good read its
// catalogs are built from is while its latest read failed, and 0 while it
// reads well; a source failing with no last good read is left out (its
// category's catalog build fails, which the health report says).
func (n *node) listSourceStale() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, s := range n.cfg.Provider.Sources {
		out[s.Name] = 0
	}
	for _, u := range n.prov.UnreadableSources() {
		if u.GetLastGood() == nil {
			delete(out, u.GetSource())
		} else {
			out[u.GetSource()] = time.Since(u.GetLastGood().AsTime())
		}
	}
	return out
}

// pushHealth is DEGRADED while a push destination fails with events
// waiting, or holds dead events an operator has not replayed
// (docs/operations.md, "Push delivery").
func (n *node) pushHealth() (riskmeshv1.HealthStatus, string) {
	var problems []string
	for _, s := range n.push.Stats() {
		if s.LastError != nil && s.Depth > 0 {
			problems = append(problems, fmt.Sprintf("%s failing with %d events waiting: %v", s.Destination, s.Depth, s.LastError))
		}
		if s.Dead > 0 {
			problems = append(problems, fmt.Sprintf("%s has %d dead events (riskmesh push dead)", s.Destination, s.Dead))
		}
	}
	if len(problems) > 0 {
		return riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED, strings.Join(problems, "; ")
	}
	return riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING, ""
}
