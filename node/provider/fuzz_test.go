package provider

import (
	"bytes"
	"testing"

	"github.com/riskmesh/riskmesh/proto/riskmeshv1"
	"github.com/riskmesh/riskmesh/psi/catalog"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// FuzzEvaluate feeds arbitrary headers, blinded arrays and signatures to a
// real provider's Handle: it must answer every one, with a typed PeerError
// unless the request is a genuine signed one (the seed).
func FuzzEvaluate(f *testing.F) {
	fx := newFixture(f, nil)
	good := fx.newQuery(1, 0, phone, phone).req.GetEvaluate()
	f.Add(good.GetHeader(), good.GetBlinded(), good.GetRequesterSignature())
	f.Add(good.GetHeader(), good.GetBlinded()[:32], good.GetRequesterSignature())
	f.Add(good.GetHeader()[:20], []byte{}, []byte{1})
	f.Add([]byte{}, []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, header, blinded, sig []byte) {
		resp := fx.handle(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_Evaluate{Evaluate: &riskmeshv1.EvaluateRequest{
			Header: header, Blinded: blinded, RequesterSignature: sig,
		}}})
		switch {
		case resp.GetEvaluate() != nil:
			if len(resp.GetEvaluate().GetEvaluated()) != len(blinded) {
				t.Fatalf("answered %d bytes for %d blinded", len(resp.GetEvaluate().GetEvaluated()), len(blinded))
			}
		case resp.GetError() == nil || resp.GetError().GetCode() == riskmeshv1.ErrorCode_ERROR_CODE_UNSPECIFIED:
			t.Fatalf("answer %v is neither an evaluation nor a typed error", resp)
		}
	})
}

// FuzzCatalogDownload asks a real provider for arbitrary ranges: every
// answer is a chunk inside the catalog, of at most the asked size, or a
// typed PeerError.
func FuzzCatalogDownload(f *testing.F) {
	fx := newFixture(f, nil)
	fx.maintain()
	length := fx.p.CatalogStatus(category)[0].GetTotalLength()
	f.Add(uint64(0), uint32(0), uint64(0), []byte{}, "black", uint64(1))
	f.Add(length-1, uint32(1), uint64(5), make([]byte, 32), "black", uint64(1))
	f.Add(uint64(1)<<63, uint32(1)<<31, ^uint64(0), []byte{1}, "grey", uint64(0))
	f.Fuzz(func(t *testing.T, offset uint64, maxChunk uint32, limit uint64, digest []byte, cat string, period uint64) {
		resp := fx.handle(&riskmeshv1.PeerRequest{Body: &riskmeshv1.PeerRequest_CatalogDownload{CatalogDownload: &riskmeshv1.CatalogDownloadRequest{
			Provider: providerMSP, Category: cat, Period: period, Offset: offset, MaxChunk: maxChunk, Limit: limit, ExpectedDigest: digest,
		}}})
		if c := resp.GetCatalogChunk(); c != nil {
			n := uint64(len(c.GetData()))
			if n == 0 || c.GetOffset() != offset || offset+n > length || n > uint64(riskmeshv1.ChunkSize(maxChunk)) || (limit != 0 && n > limit) {
				t.Fatalf("chunk of %d bytes at %d for offset %d, limit %d, catalog of %d", n, c.GetOffset(), offset, limit, length)
			}
			return
		}
		if resp.GetError().GetCode() == riskmeshv1.ErrorCode_ERROR_CODE_UNSPECIFIED {
			t.Fatalf("answer %v is neither a chunk nor a typed error", resp)
		}
	})
}

// FuzzDecodeImported feeds arbitrary stored keys and values to the decoder
// of imported entries: it never panics, and what it accepts re-encodes to
// the same bytes.
func FuzzDecodeImported(f *testing.F) {
	id, _ := ident.Normalize("phone", "+8613800138000")
	label, _ := catalog.Label{Category: 1, Reason: 7, Listed: 100}.MarshalBinary()
	f.Add(importKey(1, id), label)
	f.Add(importKey(2, id), label)
	f.Add([]byte{1, 'p', ':'}, label[:8])
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		e, err := decodeImported(k, v)
		if err != nil {
			return
		}
		got, err := e.Label.MarshalBinary()
		if err != nil || !bytes.Equal(importKey(e.Label.Category, e.ID), k) || !bytes.Equal(got, v) {
			t.Fatalf("accepted entry does not re-encode to its input (%v)", err)
		}
	})
}
