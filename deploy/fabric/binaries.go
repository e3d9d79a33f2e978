package fabric

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// rootModule is the module path that identifies the repository root.
const rootModule = "github.com/riskmesh/riskmesh"

// fabricCommands are the Fabric v2.5.0 commands the network needs, built from
// the nested module deploy/fabric/build (which pins the version).
var fabricCommands = []string{"peer", "orderer", "configtxgen", "cryptogen", "osnadmin"}

// FindRepoDir walks up from the working directory to the directory holding
// the go.mod of the riskmesh module.
func FindRepoDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isRepoRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoRepo
		}
		dir = parent
	}
}

func isRepoRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
			return strings.TrimSpace(rest) == rootModule
		}
	}
	return false
}

// EnsureBinaries builds the Fabric commands into binDir unless all of them are
// already there. A clean build takes about 3 minutes of CPU on 2 cores; a
// cached one about a second, so it is done only when something is missing.
func EnsureBinaries(ctx context.Context, repoDir, binDir string) error {
	missing := false
	for _, c := range fabricCommands {
		if _, err := os.Stat(filepath.Join(binDir, c)); err != nil {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return err
	}
	args := []string{"build", "-o", binDir + string(filepath.Separator)}
	for _, c := range fabricCommands {
		args = append(args, "github.com/hyperledger/fabric/cmd/"+c)
	}
	return goCommand(ctx, filepath.Join(repoDir, "deploy", "fabric", "build"), args...)
}

// buildChaincode builds the project's chaincode server into out.
func buildChaincode(ctx context.Context, repoDir, out string) error {
	return goCommand(ctx, repoDir, "build", "-o", out, "./cmd/riskmesh-chaincode")
}

func goCommand(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	// The nested build module is its own module; a go.work elsewhere must not
	// pull it into a workspace.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: go %s in %s: %v: %s", ErrCommandFail, strings.Join(args, " "), dir, err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}
