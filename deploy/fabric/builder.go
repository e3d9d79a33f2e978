package fabric

import (
	"embed"
	"os"
	"path/filepath"
)

// builderFS holds the project's chaincode-as-a-service external builder:
// detect, build and release, the three programs Fabric's external builder
// interface calls. Fabric's own ccaas_builder lives in a nested module that
// the module proxy does not serve, and the scripts are a few lines each.
//
//go:embed ccaas/bin
var builderFS embed.FS

// installBuilder writes the builder into dir/bin with the execute bit set;
// core.yaml's chaincode.externalBuilders points at dir.
func installBuilder(dir string) error {
	entries, err := builderFS.ReadDir("ccaas/bin")
	if err != nil {
		return err
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for _, e := range entries {
		b, err := builderFS.ReadFile("ccaas/bin/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(bin, e.Name()), b, 0o755); err != nil {
			return err
		}
	}
	return nil
}
