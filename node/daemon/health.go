package daemon

import (
	"context"

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
	if n.prov != nil {
		resp.OutboxDepth = uint64(n.prov.OutboxDepth())
		st, msg := riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING, ""
		if resp.OutboxDepth > 0 && n.dir.LastError() != nil {
			st, msg = riskmeshv1.HealthStatus_HEALTH_STATUS_DEGRADED, "entries queued while the ledger is unreachable"
		}
		add("outbox", st, msg)
	}
	add("peers", riskmeshv1.HealthStatus_HEALTH_STATUS_SERVING, "")
	return resp
}
