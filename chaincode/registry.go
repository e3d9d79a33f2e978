package chaincode

import (
	"bytes"
	"fmt"
	"github.com/riskmesh/riskmesh/internal/names"

	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/psi/oprf"
)

func validRoles(roles []Role) ([]Role, error) {
	seen := map[Role]bool{}
	out := make([]Role, 0, len(roles))
	for _, r := range roles {
		switch r {
		case RoleProvider, RoleRequester, RoleAuditor:
		default:
			return nil, newError(CodeInvalidArgument, fmt.Sprintf("unknown role %.32q", r))
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// loadInstitution returns the registry record of msp or a not_found error.
func loadInstitution(st State, msp string) (*Institution, error) {
	if !ValidMSPID(msp) {
		return nil, newError(CodeInvalidArgument, "invalid MSP id")
	}
	var inst Institution
	ok, err := getJSON(st, instKey(msp), &inst)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newError(CodeNotFound, fmt.Sprintf("institution %s is not registered", msp))
	}
	return &inst, nil
}

// loadCaller returns the caller's own registry record; an unregistered
// caller is forbidden.
func loadCaller(st State) (*Institution, error) {
	caller, err := st.Caller()
	if err != nil {
		return nil, err
	}
	inst, err := loadInstitution(st, caller)
	if CodeOf(err) == CodeNotFound || CodeOf(err) == CodeInvalidArgument {
		return nil, newError(CodeForbidden, fmt.Sprintf("caller %.128s is not a registered institution", caller))
	}
	return inst, err
}

func (c *Contract) addInstitution(st State, arg []byte) (any, error) {
	if err := c.requireDecision(st, FnAddInstitution); err != nil {
		return nil, err
	}
	var a AddInstitutionArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if !ValidMSPID(a.MSPID) {
		return nil, newError(CodeInvalidArgument, "invalid MSP id")
	}
	if !names.Text(a.Name, MaxNameLen) {
		return nil, newError(CodeInvalidArgument, "name must be 1 to 256 printable ASCII characters")
	}
	roles, err := validRoles(a.Roles)
	if err != nil {
		return nil, err
	}
	old, err := st.Get(instKey(a.MSPID))
	if err != nil {
		return nil, err
	}
	if old != nil {
		return nil, newError(CodeConflict, fmt.Sprintf("institution %s is already registered", a.MSPID))
	}
	// A new record holds no credential yet: the institution claims its own
	// with UpdateProfile and SetOPRFKey.
	inst := Institution{MSPID: a.MSPID, Name: a.Name, Status: StatusActive, Roles: roles}
	return nil, putJSON(st, instKey(a.MSPID), &inst)
}

func (c *Contract) setStatus(st State, arg []byte) (any, error) {
	if err := c.requireDecision(st, FnSetStatus); err != nil {
		return nil, err
	}
	var a SetStatusArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if a.Status != StatusActive && a.Status != StatusSuspended {
		return nil, newError(CodeInvalidArgument, "unknown status")
	}
	inst, err := loadInstitution(st, a.MSPID)
	if err != nil {
		return nil, err
	}
	if err := inst.setStatus(st, a.Status); err != nil {
		return nil, err
	}
	if err := claimLeniently(st, inst); err != nil {
		return nil, err
	}
	return nil, putJSON(st, instKey(a.MSPID), inst)
}

// claimLeniently claims inst's credentials on the regulator's writes of
// its record (SetStatus, SetRoles), which is how a ledger from before the
// owner index is brought under it (docs/ledger.md). A credential another
// institution owns does not fail the call: suspending a squatter must not
// be blocked by its squat.
func claimLeniently(st State, inst *Institution) error {
	if err := claimAll(st, inst); err != nil && CodeOf(err) != CodeConflict {
		return err
	}
	return nil
}

func (c *Contract) setRoles(st State, arg []byte) (any, error) {
	if err := c.requireDecision(st, FnSetRoles); err != nil {
		return nil, err
	}
	var a SetRolesArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	roles, err := validRoles(a.Roles)
	if err != nil {
		return nil, err
	}
	inst, err := loadInstitution(st, a.MSPID)
	if err != nil {
		return nil, err
	}
	if err := inst.setRoles(st, roles); err != nil {
		return nil, err
	}
	if err := claimLeniently(st, inst); err != nil {
		return nil, err
	}
	return nil, putJSON(st, instKey(a.MSPID), inst)
}

// updateProfile changes the caller's own endpoint, TLS fingerprint and
// signing key. There is no argument naming the institution: the caller's MSP
// id is the only record it can reach. A fingerprint or key another
// institution has registered is refused (owners.go).
func (c *Contract) updateProfile(st State, arg []byte) (any, error) {
	var p Profile
	if err := decodeArg(arg, &p); err != nil {
		return nil, err
	}
	if p.Endpoint == "" && p.TLSFingerprint == nil && p.SigningKey == nil {
		return nil, newError(CodeInvalidArgument, "empty profile update")
	}
	if p.Endpoint != "" && !names.Text(p.Endpoint, MaxEndpointLen) {
		return nil, newError(CodeInvalidArgument, "endpoint must be 1 to 256 printable ASCII characters")
	}
	if p.TLSFingerprint != nil && len(p.TLSFingerprint) != FingerprintSize {
		return nil, newError(CodeInvalidArgument, "TLS fingerprint must be 32 bytes")
	}
	if p.SigningKey != nil {
		if _, err := ecsig.ParsePublicKey(p.SigningKey); err != nil {
			return nil, newError(CodeInvalidArgument, "signing key: "+err.Error())
		}
	}
	inst, err := loadCaller(st)
	if err != nil {
		return nil, err
	}
	if p.Endpoint != "" {
		inst.Endpoint = p.Endpoint
	}
	if p.TLSFingerprint != nil {
		inst.TLSFingerprint = p.TLSFingerprint
	}
	if p.SigningKey != nil && !bytes.Equal(p.SigningKey, inst.SigningKey) {
		if err := rotateSigningKey(st, inst, p.SigningKey); err != nil {
			return nil, err
		}
	}
	if err := claimAll(st, inst); err != nil {
		return nil, err
	}
	return nil, putJSON(st, instKey(inst.MSPID), inst)
}

// rotateSigningKey makes key the institution's current signing key. The
// old key stays valid until the end of the current period, so entries
// still queued under it are recorded; the new one is valid from the
// oldest period still accepting records (the previous one during its grace
// window), so a node may sign with it as soon as it is registered.
func rotateSigningKey(st State, inst *Institution, key []byte) error {
	cur, err := currentPeriod(st)
	if err != nil {
		return err
	}
	if inst.SigningKey == nil || cur == 0 { // nothing can have been signed yet
		inst.SigningKey, inst.SigningKeyFrom = key, 0
		return nil
	}
	from := cur
	if cur > 1 {
		prev, err := loadPeriod(st, cur-1)
		if err != nil {
			return err
		}
		if prev.State == PeriodGrace {
			from = cur - 1
		}
	}
	past := append(inst.PastSigningKeys, KeyVersion{Key: inst.SigningKey, From: inst.SigningKeyFrom, Until: cur})
	if len(past) > MaxPastSigningKeys {
		oldest, err := loadPeriod(st, past[0].Until)
		if err != nil {
			return err
		}
		if oldest.State != PeriodSnapshotted {
			return newError(CodeFailedPrecondition, fmt.Sprintf("%d signing keys replaced since period %d was snapshotted: snapshot it before rotating again", MaxPastSigningKeys, oldest.Number))
		}
		past = past[1:]
	}
	inst.PastSigningKeys, inst.SigningKey, inst.SigningKeyFrom = past, key, from
	return nil
}

func (c *Contract) setOPRFKey(st State, arg []byte) (any, error) {
	var a OPRFKeyArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if !ValidCategory(a.Category) {
		return nil, newError(CodeInvalidArgument, "invalid category")
	}
	if len(a.Key) != OPRFKeySize {
		return nil, newError(CodeInvalidArgument, "OPRF key must be 32 bytes")
	}
	inst, err := loadCaller(st)
	if err != nil {
		return nil, err
	}
	if !inst.HasRole(RoleProvider) {
		return nil, newError(CodeForbidden, "only a provider registers OPRF keys")
	}
	if inst.OPRFKeys == nil {
		inst.OPRFKeys = map[string][]byte{}
	}
	if _, ok := inst.OPRFKeys[a.Category]; !ok && len(inst.OPRFKeys) >= MaxCategories {
		return nil, newError(CodeInvalidArgument, "too many categories")
	}
	inst.OPRFKeys[a.Category] = a.Key
	if err := claimAll(st, inst); err != nil {
		return nil, err
	}
	return nil, putJSON(st, instKey(inst.MSPID), inst)
}

// publishCatalog records the caller's catalog digest and OPRF key for a
// category and period. A published catalog is immutable: publishing the
// same again is a no-op, anything different is a conflict, so a requester
// that verified a download against it can rely on it for the whole period,
// and an auditor finds the key a period's proofs were made with. A new
// record's key must decode as a ristretto255 public key and be the key the
// caller registered for the category (SetOPRFKey): requesters check proofs
// against it, so a key no one can prove under, or one the registry never
// announced, would make every answer of the period unverifiable or let a
// provider answer under a key of its choice.
func (c *Contract) publishCatalog(st State, arg []byte) (any, error) {
	var a Catalog
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if !ValidCategory(a.Category) {
		return nil, newError(CodeInvalidArgument, "invalid category")
	}
	if a.Period == 0 {
		return nil, newError(CodeInvalidArgument, "period 0")
	}
	if len(a.Digest) != CatalogDigestSize {
		return nil, newError(CodeInvalidArgument, "catalog digest must be 32 bytes")
	}
	if len(a.OPRFKey) != OPRFKeySize {
		return nil, newError(CodeInvalidArgument, "catalog OPRF key must be 32 bytes")
	}
	inst, err := loadCaller(st)
	if err != nil {
		return nil, err
	}
	if a.MSPID != "" && a.MSPID != inst.MSPID {
		return nil, newError(CodeForbidden, "an institution publishes only its own catalogs")
	}
	if !inst.HasRole(RoleProvider) {
		return nil, newError(CodeForbidden, "only a provider publishes catalogs")
	}
	a.MSPID = inst.MSPID
	key := catalogKey(a.MSPID, a.Category, a.Period)
	var old Catalog
	ok, err := getJSON(st, key, &old)
	if err != nil {
		return nil, err
	}
	if ok {
		if bytes.Equal(old.Digest, a.Digest) && bytes.Equal(old.OPRFKey, a.OPRFKey) && sameStats(old.Stats, a.Stats) {
			return nil, nil
		}
		return nil, newError(CodeConflict, "a different catalog digest, OPRF key or declared statistics are already published for this period")
	}
	if err := new(oprf.PublicKey).UnmarshalBinary(a.OPRFKey); err != nil {
		return nil, newError(CodeInvalidArgument, "catalog OPRF key is not a valid ristretto255 public key")
	}
	if !bytes.Equal(inst.OPRFKeys[a.Category], a.OPRFKey) {
		return nil, newError(CodeFailedPrecondition, "catalog OPRF key is not the key registered for this category: register it first (SetOPRFKey)")
	}
	return nil, putJSON(st, key, &a)
}

// sameStats reports whether two declarations are equal, both absent
// included.
func sameStats(a, b *CatalogStats) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func (c *Contract) getInstitution(st State, arg []byte) (any, error) {
	var a MSPArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	return loadInstitution(st, a.MSPID)
}

func (c *Contract) listInstitutions(st State, arg []byte) (any, error) {
	if err := decodeArg(arg, &struct{}{}); err != nil {
		return nil, err
	}
	out := []Institution{}
	err := scan(st, prefixInst, rangeEnd(prefixInst), func(k string, v []byte) (bool, error) {
		var inst Institution
		if err := decodeStored(k, v, &inst); err != nil {
			return false, err
		}
		out = append(out, inst)
		return true, nil
	})
	return out, err
}

func (c *Contract) getCatalog(st State, arg []byte) (any, error) {
	var a CatalogArgs
	if err := decodeArg(arg, &a); err != nil {
		return nil, err
	}
	if !ValidMSPID(a.MSPID) || !ValidCategory(a.Category) {
		return nil, newError(CodeInvalidArgument, "invalid MSP id or category")
	}
	var cat Catalog
	ok, err := getJSON(st, catalogKey(a.MSPID, a.Category, a.Period), &cat)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, newError(CodeNotFound, "no catalog published")
	}
	return &cat, nil
}
