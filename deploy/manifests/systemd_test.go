package manifests

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/riskmesh/riskmesh/node/config"
)

const (
	systemdDir = "../systemd"
	// nodeYAML is the example node.yaml the riskmesh units read.
	nodeYAML = "node.yaml"
)

// unit is a parsed systemd unit: section, then key, then its values in
// order (a key may repeat).
type unit map[string]map[string][]string

// parseUnit reads the subset of systemd.syntax(7) the units use: sections,
// key=value lines, comments. A line outside a section or without "=" is an
// error rather than silently ignored.
func parseUnit(text string) (unit, error) {
	u := unit{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		case section == "":
			return nil, fmt.Errorf("line %d: outside a section", n)
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, fmt.Errorf("line %d: not key=value", n)
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	return u, sc.Err()
}

func (u unit) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// paths returns the space-separated paths of every occurrence of key.
func (u unit) paths(key string) []string {
	var out []string
	for _, v := range u["Service"][key] {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// environment returns the unit's Environment= assignments.
func (u unit) environment() map[string]string {
	env := map[string]string{}
	for _, v := range u["Service"]["Environment"] {
		for _, kv := range strings.Fields(v) {
			if k, val, ok := strings.Cut(kv, "="); ok {
				env[k] = val
			}
		}
	}
	return env
}

// under reports whether path is one of dirs or inside one.
func under(path string, dirs []string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool {
		d = strings.TrimSuffix(d, "/")
		return path == d || strings.HasPrefix(path, d+"/")
	})
}

// hardening is what every unit must set, key and value.
var hardening = map[string]string{
	"NoNewPrivileges": "yes",
	"ProtectSystem":   "strict",
	"PrivateTmp":      "yes",
	"ProtectHome":     "yes",
	"Restart":         "on-failure",
}

// checkUnit returns the unit's problems; node is the node.yaml its
// ExecStart's --config names, parsed, or nil for a unit that runs no
// riskmesh command.
func checkUnit(u unit, node *config.Config) []error {
	var p problems
	for k, want := range hardening {
		if got := u.get("Service", k); got != want {
			p.add("%s=%q, want %q", k, got, want)
		}
	}
	if user := u.get("Service", "User"); user == "" || user == "root" || user == "0" {
		p.add("User=%q: the service needs its own user", user)
	}
	if u.get("Service", "LimitNOFILE") == "" {
		p.add("no LimitNOFILE")
	}
	if u.get("Service", "CapabilityBoundingSet") != "" {
		p.add("CapabilityBoundingSet not empty")
	}
	rw := u.paths("ReadWritePaths")
	if len(rw) == 0 {
		p.add("no ReadWritePaths")
	}
	readable := slices.Concat(rw, u.paths("ReadOnlyPaths"))
	if node != nil {
		for key, dir := range map[string]string{"data_dir": node.DataDir, "identity_dir": node.IdentityDir} {
			if !under(dir, rw) {
				p.add("node.yaml %s %s is not in ReadWritePaths %v", key, dir, rw)
			}
		}
		if network, addr := node.APINetwork(); network == "unix" && !under(addr, rw) {
			p.add("the API socket %s is not in ReadWritePaths %v", addr, rw)
		}
		var files []string
		if f := node.Ledger.Fabric; f != nil {
			files = append(files, f.TLSRootCert, f.Certificate, f.PrivateKey)
		}
		if t := node.API.TLS; t != nil {
			files = append(files, t.Cert, t.Key, t.ClientCA)
		}
		for _, f := range files {
			if !under(f, readable) {
				p.add("%s is in neither ReadWritePaths nor ReadOnlyPaths", f)
			}
		}
	}
	return p
}

// execConfig returns the --config path of a unit's ExecStart, or "".
func execConfig(u unit) string {
	return flagValue(strings.Fields(u.get("Service", "ExecStart")), "--config")
}

func loadUnits(t *testing.T) map[string]unit {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(systemdDir, "*.service"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no units in %s (%v)", systemdDir, err)
	}
	units := map[string]unit{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		u, err := parseUnit(string(data))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		units[filepath.Base(f)] = u
	}
	return units
}

// exampleNodeConfig parses deploy/systemd/node.yaml as installed at path.
func exampleNodeConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	if filepath.Base(path) != nodeYAML {
		t.Fatalf("--config %s: the example installs as %s", path, nodeYAML)
	}
	data, err := os.ReadFile(filepath.Join(systemdDir, nodeYAML))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data, filepath.Dir(path))
	if err != nil {
		t.Fatalf("%s: %v", nodeYAML, err)
	}
	return cfg
}

func TestSystemdUnits(t *testing.T) {
	units := loadUnits(t)
	for _, want := range []string{"riskmesh-node.service", "riskmesh-auditor.service", "fabric-peer.service"} {
		if units[want] == nil {
			t.Errorf("%s missing", want)
		}
	}
	for name, u := range units {
		var node *config.Config
		if strings.HasPrefix(name, "riskmesh-") {
			path := execConfig(u)
			if path == "" {
				t.Errorf("%s: ExecStart has no --config", name)
				continue
			}
			if !under(path, slices.Concat(u.paths("ReadOnlyPaths"), u.paths("ReadWritePaths"))) {
				t.Errorf("%s: --config %s is not readable under ProtectSystem=strict's listed paths", name, path)
			}
			node = exampleNodeConfig(t, path)
		}
		for _, err := range checkUnit(u, node) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestFabricPeerUnitPaths checks that the peer writes its ledger only
// where the unit lets it and reads its MSP from the configuration path.
func TestFabricPeerUnitPaths(t *testing.T) {
	u := loadUnits(t)["fabric-peer.service"]
	env := u.environment()
	rw, ro := u.paths("ReadWritePaths"), u.paths("ReadOnlyPaths")
	for _, k := range []string{"CORE_PEER_FILESYSTEMPATH", "CORE_LEDGER_SNAPSHOTS_ROOTDIR"} {
		if env[k] == "" || !under(env[k], rw) {
			t.Errorf("%s=%q is not in ReadWritePaths %v", k, env[k], rw)
		}
	}
	for _, k := range []string{"FABRIC_CFG_PATH", "CORE_PEER_MSPCONFIGPATH"} {
		if env[k] == "" || !under(env[k], ro) {
			t.Errorf("%s=%q is not in ReadOnlyPaths %v", k, env[k], ro)
		}
	}
}

// TestSystemdChecksCatch breaks the node unit one way at a time.
func TestSystemdChecksCatch(t *testing.T) {
	cases := []struct {
		name       string
		old, new   string
		dataDirYML string
		want       string
	}{
		{name: "writable system", old: "ProtectSystem=strict", new: "ProtectSystem=full", want: "ProtectSystem"},
		{name: "root", old: "User=riskmesh", new: "User=root", want: "own user"},
		{name: "no restart", old: "Restart=on-failure", new: "Restart=no", want: "Restart"},
		{name: "no descriptor limit", old: "LimitNOFILE=65536", new: "", want: "LimitNOFILE"},
		{name: "data dir not writable", old: "ReadWritePaths=/var/lib/riskmesh", new: "ReadWritePaths=/var/lib/other", want: "data_dir"},
		{name: "data dir moved in node.yaml", dataDirYML: "/srv/riskmesh", want: "data_dir /srv/riskmesh"},
	}
	data, err := os.ReadFile(filepath.Join(systemdDir, "riskmesh-node.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text := string(data)
			if tc.old != "" {
				if !strings.Contains(text, tc.old+"\n") {
					t.Fatalf("unit has no line %q", tc.old)
				}
				text = strings.Replace(text, tc.old+"\n", tc.new+"\n", 1)
			}
			u, err := parseUnit(text)
			if err != nil {
				t.Fatal(err)
			}
			node := exampleNodeConfig(t, execConfig(u))
			if tc.dataDirYML != "" {
				node.DataDir = tc.dataDirYML
			}
			var all []string
			for _, err := range checkUnit(u, node) {
				all = append(all, err.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.want) {
				t.Fatalf("want a problem containing %q, got %q", tc.want, all)
			}
		})
	}
	if _, err := parseUnit("ExecStart=/bin/true\n"); err == nil {
		t.Error("a key outside a section parsed")
	}
	if _, err := parseUnit("[Service]\nNoNewPrivileges\n"); err == nil {
		t.Error("a line without = parsed")
	}
}
