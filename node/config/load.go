package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds node.yaml.
const MaxFileSize = 1 << 20

// Load reads, decodes and validates the configuration file at path.
// Relative paths in it are resolved against the file's directory.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a configuration over Default(), resolves relative paths
// against baseDir and validates the result. Unknown keys, a second YAML
// document and input over MaxFileSize are errors.
func Parse(data []byte, baseDir string) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: file exceeds %d bytes", ErrInvalid, MaxFileSize)
	}
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrInvalid)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalid, yamlError(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrInvalid)
	}
	c.resolve(baseDir)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// resolve fills the defaults that depend on other keys and makes every
// relative path absolute against base.
func (c *Config) resolve(base string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	abs(&c.DataDir)
	abs(&c.IdentityDir)
	if h := c.Keys.HSM; h != nil {
		abs(&h.Module)
	}
	if c.Listen.Endpoint == "" {
		c.Listen.Endpoint = c.Listen.Peer
	}
	if c.Listen.API == "" {
		c.Listen.API = "unix:" + filepath.Join(c.DataDir, DefaultAPISocket)
	} else if p, ok := strings.CutPrefix(c.Listen.API, "unix:"); ok && p != "" && !filepath.IsAbs(p) {
		c.Listen.API = "unix:" + filepath.Join(base, p)
	}
	if t := c.API.TLS; t != nil {
		abs(&t.Cert)
		abs(&t.Key)
		abs(&t.ClientCA)
	}
	if e := c.Ledger.Embedded; e != nil {
		if e.Path == "" {
			e.Path = filepath.Join(c.DataDir, DefaultLedgerFile)
		}
		abs(&e.Path)
		abs(&e.ConsortiumFile)
	}
	if f := c.Ledger.Fabric; f != nil {
		abs(&f.TLSRootCert)
		abs(&f.Certificate)
		abs(&f.PrivateKey)
	}
	for i := range c.Provider.Sources {
		abs(&c.Provider.Sources[i].Path)
	}
	c.Push.resolve(abs)
}

// goTypes rewrites the Go type names the YAML decoder puts in its messages
// into words: an operator knows keys and lines, not this package's types.
var goTypes = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(` in type [\w.*\[\]]+`), ""},
	{regexp.MustCompile(`into \[\][\w.*]+`), "into a list"},
	{regexp.MustCompile(`into \*?config\.\w+`), "into a section"},
	{regexp.MustCompile(`into time\.Duration`), "into a duration"},
}

func yamlError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	for _, g := range goTypes {
		msg = g.re.ReplaceAllString(msg, g.with)
	}
	return msg
}
