package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The packaging an institution installs (deploy/systemd, deploy/kubernetes)
// starts riskmesh with fixed arguments; deploy/manifests checks everything
// else in them, this the arguments against the real command tree.

// checkInvocation resolves args (without the program name) to a
// subcommand and parses its flags as cobra would at start, without running
// it: an unknown subcommand or flag, a bad argument count or a missing
// required flag is an error.
func checkInvocation(args []string) error {
	root := newRootCommand()
	c, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if c == root {
		return errors.New("no subcommand")
	}
	if err := c.ParseFlags(rest); err != nil {
		return err
	}
	if err := c.ValidateArgs(c.Flags().Args()); err != nil {
		return err
	}
	if err := c.ValidateRequiredFlags(); err != nil {
		return err
	}
	return c.ValidateFlagGroups()
}

// riskmeshArgs returns the arguments after the riskmesh binary in argv,
// or nil when argv runs another program.
func riskmeshArgs(argv []string) []string {
	if len(argv) == 0 || filepath.Base(argv[0]) != "riskmesh" {
		return nil
	}
	return argv[1:]
}

// unitInvocations returns each ExecStart of the systemd units that runs
// riskmesh.
func unitInvocations(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob("../../deploy/systemd/*.service")
	if err != nil || len(files) == 0 {
		t.Fatalf("no systemd units (%v)", err)
	}
	out := map[string][]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ExecStart="); ok {
				if args := riskmeshArgs(strings.Fields(v)); args != nil {
					out[filepath.Base(f)] = args
				}
			}
		}
	}
	return out
}

// manifestInvocations returns each container command in the Kubernetes
// manifests that runs riskmesh, found by walking every document.
func manifestInvocations(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob("../../deploy/kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests (%v)", err)
	}
	out := map[string][]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			collectCommands(doc, func(name string, argv []string) {
				if args := riskmeshArgs(argv); args != nil {
					out[filepath.Base(f)+" "+name] = args
				}
			})
		}
	}
	return out
}

// collectCommands calls found for every container (a map with "name" and
// "command") under v.
func collectCommands(v any, found func(name string, argv []string)) {
	switch v := v.(type) {
	case map[string]any:
		if cmd, ok := v["command"].([]any); ok {
			argv := make([]string, 0, len(cmd))
			for _, a := range cmd {
				s, _ := a.(string)
				argv = append(argv, s)
			}
			name, _ := v["name"].(string)
			found(name, argv)
		}
		for _, x := range v {
			collectCommands(x, found)
		}
	case []any:
		for _, x := range v {
			collectCommands(x, found)
		}
	}
}

func TestPackagingInvocations(t *testing.T) {
	units, manifests := unitInvocations(t), manifestInvocations(t)
	for _, want := range []string{"riskmesh-node.service", "riskmesh-auditor.service"} {
		if units[want] == nil {
			t.Errorf("%s runs no riskmesh command", want)
		}
	}
	if len(manifests) == 0 {
		t.Error("no manifest runs riskmesh")
	}
	for where, args := range units {
		if err := checkInvocation(args); err != nil {
			t.Errorf("%s: riskmesh %s: %v", where, strings.Join(args, " "), err)
		}
	}
	for where, args := range manifests {
		if err := checkInvocation(args); err != nil {
			t.Errorf("%s: riskmesh %s: %v", where, strings.Join(args, " "), err)
		}
	}
}

func TestCheckInvocationRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"node", "--confg", "/etc/riskmesh/node.yaml"},
		{"nodes", "--config", "/etc/riskmesh/node.yaml"},
		{"node", "--config", "/etc/riskmesh/node.yaml", "extra"},
		{"audit", "serve", "--listen", "0.0.0.0:7444"}, // neither --config nor --ledger-db
		{"--config", "node.yaml"},
	} {
		if err := checkInvocation(args); err == nil {
			t.Errorf("riskmesh %s: accepted", strings.Join(args, " "))
		}
	}
	if err := checkInvocation([]string{"node", "--config", "/etc/riskmesh/node.yaml"}); err != nil {
		t.Errorf("a valid invocation: %v", err)
	}
}
