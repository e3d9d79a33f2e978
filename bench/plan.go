package bench

import "fmt"

// point is one measured configuration: a protocol over a transport, with
// so many providers of so large a list, asked batches of one size.
type point struct {
	sweep     string
	protocol  string
	transport string
	providers int
	list      int
	batch     int
	// skip, if not empty, says why the point is recorded without a
	// measurement.
	skip string
}

// setupKey identifies what a point needs set up; points with the same key
// share one system.
type setupKey struct {
	protocol, transport string
	providers, list     int
}

func (p *point) setup() setupKey { return setupKey{p.protocol, p.transport, p.providers, p.list} }

// plan lists the points of a run in sweep order. Which protocols and
// transports each sweep covers:
//
//   - batch: catalog PSI against one list of cfg.List entries; ECDH-PSI and
//     DHPSI on balanced sets (the responder's set as large as the batch,
//     the case they are made for); circl's VOPRF on the same batches.
//   - list: a batch of cfg.Batch against one list of each size; ECDH-PSI
//     and DHPSI only up to cfg.ECDHMaxList.
//   - providers: a batch of cfg.Batch fanned out to each number of
//     providers of cfg.List entries (ECDH-PSI's lists capped at
//     cfg.FanoutECDHList).
//
// Live mode runs beside catalog PSI in the batch and list sweeps, one
// provider, batches up to liveMaxBatch.
//
// The DHPSI baseline is planned only when cfg.MatchDir is set. The wan
// sweep's points are RunWAN's (wanPoints).
func plan(cfg *Config) []point {
	if cfg.wanInner {
		return wanPoints(cfg)
	}
	var pts []point
	add := func(p point) { pts = append(pts, p) }
	catalogs := func(sweep string, n, list, batch int) {
		for _, tr := range []string{TransportInProcess, TransportQUICNode} {
			add(point{sweep: sweep, protocol: ProtocolCatalog, transport: tr, providers: n, list: list, batch: batch})
		}
	}
	lives := func(sweep string, list, batch int) {
		var skip string
		if batch > liveMaxBatch {
			skip = fmt.Sprintf("batch above live mode's cap of %d", liveMaxBatch)
		}
		for _, tr := range []string{TransportInProcess, TransportQUICNode} {
			add(point{sweep: sweep, protocol: ProtocolLive, transport: tr, providers: 1, list: list, batch: batch, skip: skip})
		}
	}
	ecdhs := func(sweep string, n, list, batch int, withDHPSI bool) {
		var skip string
		if list > cfg.ECDHMaxList {
			skip = fmt.Sprintf("list above the ECDH cap of %d", cfg.ECDHMaxList)
		}
		for _, tr := range []string{TransportInProcess, TransportQUICPeer} {
			add(point{sweep: sweep, protocol: ProtocolECDH, transport: tr, providers: n, list: list, batch: batch, skip: skip})
		}
		if withDHPSI { // two-party and balanced, like DHPSI
			add(point{sweep: sweep, protocol: ProtocolRecon, transport: TransportQUICPeer, providers: n, list: list, batch: batch, skip: skip})
		}
		if withDHPSI && cfg.MatchDir != "" {
			add(point{sweep: sweep, protocol: ProtocolDHPSI, transport: TransportTCP, providers: n, list: list, batch: batch, skip: skip})
		}
	}
	if cfg.runs(SweepBatch) {
		for _, b := range cfg.Batches {
			catalogs(SweepBatch, 1, cfg.List, b)
			lives(SweepBatch, cfg.List, b)
			add(point{sweep: SweepBatch, protocol: ProtocolVOPRF, transport: TransportInProcess, providers: 1, list: cfg.List, batch: b})
			ecdhs(SweepBatch, 1, b, b, true)
		}
	}
	if cfg.runs(SweepList) {
		for _, l := range cfg.Lists {
			catalogs(SweepList, 1, l, cfg.Batch)
			lives(SweepList, l, cfg.Batch)
			ecdhs(SweepList, 1, l, cfg.Batch, true)
		}
	}
	if cfg.runs(SweepProviders) {
		for _, n := range cfg.Providers {
			catalogs(SweepProviders, n, cfg.List, cfg.Batch)
			ecdhs(SweepProviders, n, min(cfg.List, cfg.ECDHMaxList, cfg.FanoutECDHList), cfg.Batch, false)
		}
	}
	return pts
}
