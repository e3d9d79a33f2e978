package identity

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/riskmesh/riskmesh/accounting"
	"github.com/riskmesh/riskmesh/internal/ecsig"
	"github.com/riskmesh/riskmesh/internal/names"
	"github.com/riskmesh/riskmesh/node/peer"
)

// MaxConsortiumSize bounds a consortium file (about 2,000 members).
const MaxConsortiumSize = 1 << 20

// maxNameLen bounds a member's display name, as the registry does.
const maxNameLen = 256

// ErrUnknownMember is returned by Consortium.Authorize for a fingerprint no
// member has.
var ErrUnknownMember = errors.New("identity: not a consortium member")

// Member is one institution in a consortium file: what the regulator's node
// needs to admit it (by TLS fingerprint) before it is on the ledger, and to
// register it there (name, roles, signing key). It holds public data only.
type Member struct {
	MSPID          string
	Name           string
	Roles          []accounting.Role
	TLSFingerprint peer.Fingerprint
	// SigningKey is the transcript-signing public key, PKIX DER.
	SigningKey []byte
}

// ReadMember builds a Member from the public files of the identity in dir
// (tls.crt, signing.pub and the names of the OPRF key files); no private key
// is opened. Name defaults to the MSP id; Roles are requester, plus
// provider when the identity has OPRF keys. The regulator edits both in the
// consortium file as the consortium decides.
func ReadMember(dir string) (Member, error) {
	pub, err := readPublic(dir)
	if err != nil {
		return Member{}, fmt.Errorf("read member %s: %w", dir, err)
	}
	cats, err := oprfCategories(dir)
	if err != nil {
		return Member{}, fmt.Errorf("read member %s: %w", dir, err)
	}
	roles := []accounting.Role{accounting.RoleRequester}
	if len(cats) > 0 {
		roles = append(roles, accounting.RoleProvider)
	}
	msp := pub.tls.Leaf.Subject.CommonName
	return Member{
		MSPID:          msp,
		Name:           msp,
		Roles:          roles,
		TLSFingerprint: peer.FingerprintOf(pub.tls.Leaf.Raw),
		SigningKey:     pub.signingDER,
	}, nil
}

// Consortium is a validated list of members: unique MSP ids and unique TLS
// fingerprints. It is a peer.Authorizer, so the regulator's node can admit
// members to its ledger relay before they appear in the registry.
type Consortium struct {
	members []Member
	byFP    map[peer.Fingerprint]string
}

var _ peer.Authorizer = (*Consortium)(nil)

// NewConsortium validates members and returns them as a Consortium, in the
// given order.
func NewConsortium(members []Member) (*Consortium, error) {
	if len(members) == 0 {
		return nil, errors.New("consortium: no members")
	}
	c := &Consortium{byFP: make(map[peer.Fingerprint]string, len(members))}
	seen := make(map[string]bool, len(members))
	for i, m := range members {
		if err := m.validate(); err != nil {
			return nil, fmt.Errorf("consortium: member %d (%q): %w", i+1, m.MSPID, err)
		}
		if seen[m.MSPID] {
			return nil, fmt.Errorf("consortium: member %d: MSP id %s listed twice", i+1, m.MSPID)
		}
		if _, dup := c.byFP[m.TLSFingerprint]; dup {
			return nil, fmt.Errorf("consortium: member %d: TLS fingerprint already listed", i+1)
		}
		seen[m.MSPID] = true
		c.byFP[m.TLSFingerprint] = m.MSPID
		m.Roles = slices.Clone(m.Roles)
		m.SigningKey = slices.Clone(m.SigningKey)
		c.members = append(c.members, m)
	}
	return c, nil
}

func (m *Member) validate() error {
	if !names.MSPID(m.MSPID) {
		return fmt.Errorf("%w: %q", ErrMSPID, m.MSPID)
	}
	if !names.Text(m.Name, maxNameLen) {
		return fmt.Errorf("name must be 1 to %d printable ASCII characters", maxNameLen)
	}
	if len(m.Roles) == 0 {
		return errors.New("no roles")
	}
	for i, r := range m.Roles {
		switch r {
		case accounting.RoleProvider, accounting.RoleRequester, accounting.RoleAuditor:
		default:
			return fmt.Errorf("unknown role %q", r)
		}
		if slices.Contains(m.Roles[:i], r) {
			return fmt.Errorf("role %s listed twice", r)
		}
	}
	if m.TLSFingerprint == (peer.Fingerprint{}) {
		return errors.New("no TLS fingerprint")
	}
	if _, err := ecsig.ParsePublicKey(m.SigningKey); err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	return nil
}

// Members returns the members in file order.
func (c *Consortium) Members() []Member { return slices.Clone(c.members) }

// Member returns the member with this MSP id.
func (c *Consortium) Member(mspID string) (Member, bool) {
	i := slices.IndexFunc(c.members, func(m Member) bool { return m.MSPID == mspID })
	if i < 0 {
		return Member{}, false
	}
	return c.members[i], true
}

// Authorize returns the MSP id of the member with this TLS fingerprint.
func (c *Consortium) Authorize(fp [32]byte) (string, error) {
	msp, ok := c.byFP[fp]
	if !ok {
		return "", ErrUnknownMember
	}
	return msp, nil
}

// The file format: YAML (JSON is YAML too), one document.
type consortiumFile struct {
	Members []memberFile `yaml:"members"`
}

type memberFile struct {
	MSPID          string   `yaml:"msp_id"`
	Name           string   `yaml:"name"`
	Roles          []string `yaml:"roles,flow"`
	TLSFingerprint string   `yaml:"tls_fingerprint"` // hex, see ParseFingerprint
	SigningKey     string   `yaml:"signing_key"`     // base64 (standard, padded) PKIX DER
}

// Marshal encodes the consortium file.
func (c *Consortium) Marshal() ([]byte, error) {
	f := consortiumFile{Members: make([]memberFile, len(c.members))}
	for i, m := range c.members {
		roles := make([]string, len(m.Roles))
		for j, r := range m.Roles {
			roles[j] = string(r)
		}
		f.Members[i] = memberFile{
			MSPID:          m.MSPID,
			Name:           m.Name,
			Roles:          roles,
			TLSFingerprint: m.TLSFingerprint.String(),
			SigningKey:     base64.StdEncoding.EncodeToString(m.SigningKey),
		}
	}
	var buf bytes.Buffer
	buf.WriteString("# RiskMesh consortium members: the regulator's node admits these TLS\n# fingerprints to its ledger relay. Edit names and roles as the consortium decides.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&f); err != nil {
		return nil, fmt.Errorf("consortium: encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("consortium: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// ConsortiumOf builds the consortium of the members whose identity
// directories dirs name, from their public files (ReadMember).
func ConsortiumOf(dirs []string) (*Consortium, error) {
	members := make([]Member, 0, len(dirs))
	for _, dir := range dirs {
		m, err := ReadMember(dir)
		if err != nil {
			return nil, err
		}
		members = append(members, m)
	}
	return NewConsortium(members)
}

// WriteFile writes the consortium file to path (mode 0644: it holds only
// public facts). It replaces an existing file only if replace is set;
// otherwise it fails with ErrExists and leaves the file as it was.
func (c *Consortium) WriteFile(path string, replace bool) error {
	data, err := c.Marshal()
	if err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !replace {
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("consortium: %s: %w", path, ErrExists)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ParseConsortium decodes and validates a consortium file. Unknown keys,
// a second document and files over MaxConsortiumSize are refused.
func ParseConsortium(data []byte) (*Consortium, error) {
	if len(data) > MaxConsortiumSize {
		return nil, fmt.Errorf("consortium: %w: %d bytes, limit %d", ErrTooLarge, len(data), MaxConsortiumSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f consortiumFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("consortium: empty file")
		}
		return nil, fmt.Errorf("consortium: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("consortium: more than one YAML document")
	}
	members := make([]Member, len(f.Members))
	for i, mf := range f.Members {
		m, err := mf.member()
		if err != nil {
			return nil, fmt.Errorf("consortium: member %d: %w", i+1, err)
		}
		members[i] = m
	}
	return NewConsortium(members)
}

func (mf *memberFile) member() (Member, error) {
	m := Member{MSPID: mf.MSPID, Name: mf.Name}
	for _, r := range mf.Roles {
		m.Roles = append(m.Roles, accounting.Role(r))
	}
	fp, err := ParseFingerprint(mf.TLSFingerprint)
	if err != nil {
		return Member{}, fmt.Errorf("tls_fingerprint: %w", err)
	}
	m.TLSFingerprint = fp
	if len(mf.SigningKey) > base64.StdEncoding.EncodedLen(ecsig.MaxPublicKeySize) {
		return Member{}, errors.New("signing_key too long")
	}
	m.SigningKey, err = base64.StdEncoding.DecodeString(mf.SigningKey)
	if err != nil {
		return Member{}, errors.New("signing_key is not base64")
	}
	return m, nil
}

// LoadConsortium reads and parses a consortium file.
func LoadConsortium(path string) (*Consortium, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxConsortiumSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	c, err := ParseConsortium(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseFingerprint decodes a TLS certificate fingerprint written as the 64
// hex digits of its SHA-256, in either case, either run together or with a
// colon between every two bytes (as openssl prints them). It is the one
// parser of the form: the consortium file, ledger.remote.tls_fingerprint
// in the node's configuration (node/config, node/daemon) and the CLI use
// it. peer.Fingerprint's String is the canonical form. Errors do not echo
// the input.
func ParseFingerprint(s string) (peer.Fingerprint, error) {
	var fp peer.Fingerprint
	if len(s) == 3*len(fp)-1 { // "9F:86:D0:..."
		digits := make([]byte, 0, 2*len(fp))
		for i := 0; i < len(s); i += 3 {
			if i > 0 && s[i-1] != ':' {
				return fp, ErrFingerprint
			}
			digits = append(digits, s[i], s[i+1])
		}
		s = string(digits)
	}
	if len(s) != hex.EncodedLen(len(fp)) {
		return fp, ErrFingerprint
	}
	if _, err := hex.Decode(fp[:], []byte(s)); err != nil {
		return fp, ErrFingerprint
	}
	return fp, nil
}
