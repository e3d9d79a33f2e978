package provider

import (
	"crypto/subtle"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
)

// servedFor finds the catalog a catalog request names, or the refusal.
func (p *Provider) servedFor(provider, category string, period uint64) (*served, *riskmeshv1.PeerResponse) {
	if provider != p.cfg.MSPID {
		return nil, refuse(codeNotFound, "request is addressed to another provider")
	}
	if _, ok := p.keys[category]; !ok {
		return nil, refuse(codeNotFound, "category %.64s is not provided here", category)
	}
	if sv := p.cats.get(category, period); sv != nil {
		return sv, nil
	}
	if period == p.cfg.Directory.View().Period.Number {
		return nil, refuse(codeUnavailable, "catalog for period %d is being built", period)
	}
	return nil, refuse(codeNotFound, "no catalog for period %d", period)
}

func (p *Provider) catalogInfo(req *riskmeshv1.CatalogInfoRequest) *riskmeshv1.PeerResponse {
	sv, refusal := p.servedFor(req.GetProvider(), req.GetCategory(), req.GetPeriod())
	if refusal != nil {
		return refusal
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_CatalogInfo{CatalogInfo: &riskmeshv1.CatalogInfo{
		Provider:    sv.meta.Provider,
		Category:    sv.meta.Category,
		Period:      sv.meta.Period,
		Suite:       sv.meta.Suite,
		KeyId:       sv.meta.KeyID[:],
		Items:       sv.items,
		TotalLength: uint64(sv.length),
		Digest:      sv.digest[:],
	}}}
}

// catalogDownload answers with one chunk from the requested offset: the
// transport sends one frame per request, so the requester asks for the
// next offset on a new stream, which also makes downloads resumable.
func (p *Provider) catalogDownload(req *riskmeshv1.CatalogDownloadRequest) *riskmeshv1.PeerResponse {
	sv, refusal := p.servedFor(req.GetProvider(), req.GetCategory(), req.GetPeriod())
	if refusal != nil {
		return refusal
	}
	if want := req.GetExpectedDigest(); len(want) != 0 {
		if len(want) != catalog.DigestSize {
			return refuse(codeMalformed, "expected digest of %d bytes", len(want))
		}
		if subtle.ConstantTimeCompare(want, sv.digest[:]) != 1 {
			return refuse(codeNotFound, "the catalog served for period %d has another digest", req.GetPeriod())
		}
	}
	off := req.GetOffset()
	if off >= uint64(sv.length) {
		return refuse(codeMalformed, "offset %d beyond the catalog's %d bytes", off, sv.length)
	}
	n := uint64(riskmeshv1.ChunkSize(req.GetMaxChunk()))
	n = min(n, uint64(sv.length)-off)
	if limit := req.GetLimit(); limit != 0 {
		n = min(n, limit)
	}
	data := make([]byte, n)
	switch open, err := sv.readAt(data, int64(off)); {
	case err != nil:
		p.log.Error("provider: read catalog file", "category", sv.meta.Category, "period", sv.meta.Period, "err", err)
		return refuse(codeInternal, "catalog file unreadable")
	case !open:
		return refuse(codeNotFound, "no catalog for period %d", req.GetPeriod())
	}
	return &riskmeshv1.PeerResponse{Body: &riskmeshv1.PeerResponse_CatalogChunk{CatalogChunk: &riskmeshv1.CatalogChunk{
		Offset:      off,
		Data:        data,
		TotalLength: uint64(sv.length),
		Digest:      sv.digest[:],
	}}}
}
