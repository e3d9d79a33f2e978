package fabric

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// maxToolOutput bounds how much of a failed command's output goes into the
// error.
const maxToolOutput = 4096

// runTool runs a short-lived Fabric command (cryptogen, configtxgen, peer,
// osnadmin) and returns its combined output. env is the complete environment
// besides PATH and HOME; cfgDir, if set, becomes FABRIC_CFG_PATH.
func runTool(ctx context.Context, path string, env []string, cfgDir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(baseEnv(), env...)
	if cfgDir != "" {
		cmd.Env = append(cmd.Env, "FABRIC_CFG_PATH="+cfgDir)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		text := out.String()
		if len(text) > maxToolOutput {
			text = "..." + text[len(text)-maxToolOutput:]
		}
		return out.Bytes(), fmt.Errorf("%w: %s %s: %v: %s", ErrCommandFail,
			filepath.Base(path), strings.Join(args, " "), err, strings.TrimSpace(text))
	}
	return out.Bytes(), nil
}

// baseEnv is the environment every Fabric process starts from: the calling
// process's CORE_* and ORDERER_* variables must not leak in and silently
// override the generated configuration.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}
