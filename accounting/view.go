package accounting

import "encoding/hex"

// InstitutionView and CatalogView are how tools print registry and catalog
// records: fingerprints, keys and digests in hex, as node.yaml, the
// consortium file and the other commands write them, rather than the
// contract's base64.
type InstitutionView struct {
	Institution
	TLSFingerprint string            `json:"tlsFingerprint,omitempty"`
	OPRFKeys       map[string]string `json:"oprfKeys,omitempty"`
}

// CatalogView is a Catalog with its digest and OPRF key in hex.
type CatalogView struct {
	Catalog
	Digest  string `json:"digest"`
	OPRFKey string `json:"oprfKey"`
}

// NewCatalogView returns c's view.
func NewCatalogView(c *Catalog) CatalogView {
	return CatalogView{Catalog: *c, Digest: hex.EncodeToString(c.Digest), OPRFKey: hex.EncodeToString(c.OPRFKey)}
}

// InstitutionViews returns the views of a registry's records, in order.
func InstitutionViews(r []Institution) []InstitutionView {
	views := make([]InstitutionView, len(r))
	for i, in := range r {
		views[i] = InstitutionView{Institution: in, TLSFingerprint: hex.EncodeToString(in.TLSFingerprint)}
		for cat, key := range in.OPRFKeys {
			if views[i].OPRFKeys == nil {
				views[i].OPRFKeys = map[string]string{}
			}
			views[i].OPRFKeys[cat] = hex.EncodeToString(key)
		}
	}
	return views
}
