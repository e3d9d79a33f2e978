package config

import (
	"fmt"
	"os"
	"time"

	"github.com/riskmesh/riskmesh/node/lists"
	"github.com/riskmesh/riskmesh/psi/ident"
)

// Source kinds.
const (
	KindCSV      = "csv"
	KindTSV      = "tsv"
	KindNDJSON   = "ndjson"
	KindPostgres = "postgres"
)

// Source is one list source feeding one category (node/lists, formats in
// docs/lists.md). A file holding several categories is configured once per
// category, with a different code.
type Source struct {
	// Name identifies the source in refresh requests and reports. Required,
	// unique.
	Name string `yaml:"name"`
	// Category is the ledger category the entries are catalogued under;
	// the identity must hold its OPRF key. Required.
	Category string `yaml:"category"`
	// Code is the list category code (1..255) of the rows to read. Required.
	Code int `yaml:"code"`
	// Kind is csv, tsv, ndjson or postgres. Required.
	Kind string `yaml:"kind"`
	// Path is the list file (csv, tsv, ndjson).
	Path string `yaml:"path"`
	// DSN is the PostgreSQL connection string (postgres), for connections
	// that need no password (a local socket with peer authentication).
	DSN string `yaml:"dsn"`
	// DSNEnv names the environment variable holding the connection string
	// (postgres), so that a password stays out of this file. Exactly one of
	// dsn and dsn_env is set for postgres.
	DSNEnv string `yaml:"dsn_env"`
	// Query is the SELECT returning identifier, type, category, reason,
	// listed and optionally reference (postgres).
	Query string `yaml:"query"`
	// Mapping names the columns or keys of each entry part (csv, tsv,
	// ndjson).
	Mapping *Mapping `yaml:"mapping"`
	// MaxRecordBytes bounds one record or line. Default 65536.
	MaxRecordBytes int `yaml:"max_record_bytes"`
	// MaxFieldBytes bounds each mapped field. Default 1024.
	MaxFieldBytes int `yaml:"max_field_bytes"`
	// Refresh is how often the list is re-read and its catalog rebuilt;
	// zero refreshes only at period start and on request.
	Refresh time.Duration `yaml:"refresh"`
}

// Mapping names the header columns (csv, tsv) or object keys (ndjson) of
// an entry's parts; see node/lists.Mapping.
type Mapping struct {
	ID        string `yaml:"id"`         // required
	Type      string `yaml:"type"`       // column of the identifier type; or fixed_type
	FixedType string `yaml:"fixed_type"` // phone, idcard, card, email or device
	Category  string `yaml:"category"`   // required
	Reason    string `yaml:"reason"`     // required
	Listed    string `yaml:"listed"`     // required
	Reference string `yaml:"reference"`  // optional
}

func (m *Mapping) lists() lists.Mapping {
	return lists.Mapping{
		ID: m.ID, Type: m.Type, FixedType: ident.Type(m.FixedType),
		Category: m.Category, Reason: m.Reason, Listed: m.Listed, Reference: m.Reference,
	}
}

func (s *Source) limits() lists.Limits {
	return lists.Limits{MaxRecordBytes: s.MaxRecordBytes, MaxFieldBytes: s.MaxFieldBytes}
}

// ConnString returns a postgres source's connection string, from dsn or
// from the environment variable dsn_env names.
func (s *Source) ConnString() (string, error) {
	if s.DSNEnv == "" {
		return s.DSN, nil
	}
	v := os.Getenv(s.DSNEnv)
	if v == "" {
		return "", fmt.Errorf("%w: provider.sources %s: environment variable %s is empty", ErrInvalid, s.Name, s.DSNEnv)
	}
	return v, nil
}

// Open returns the node/lists reader of the source. db is the connection a
// postgres source queries (made by the caller with ConnString) and is
// ignored by file sources; norm reads the identifiers (nil: psi/ident's
// strict default, see Identifiers.Normalizer).
func (s *Source) Open(db lists.Querier, norm *ident.Normalizer) (lists.Source, error) {
	var (
		src lists.Source
		err error
	)
	switch s.Kind {
	case KindCSV, KindTSV:
		comma := ','
		if s.Kind == KindTSV {
			comma = '\t'
		}
		src, err = lists.NewDelimited(lists.File(s.Path), lists.DelimitedConfig{Comma: comma, Mapping: s.Mapping.lists(), Limits: s.limits(), Normalizer: norm})
	case KindNDJSON:
		src, err = lists.NewNDJSON(lists.File(s.Path), lists.NDJSONConfig{Mapping: s.Mapping.lists(), Limits: s.limits(), Normalizer: norm})
	case KindPostgres:
		src, err = lists.NewPostgres(db, lists.PostgresConfig{Query: s.Query, MaxFieldBytes: s.MaxFieldBytes, Normalizer: norm})
	default:
		err = fmt.Errorf("unknown kind %q", s.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", s.Name, err)
	}
	return src, nil
}
