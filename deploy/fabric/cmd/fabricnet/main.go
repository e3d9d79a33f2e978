// Command fabricnet starts and stops the local Fabric network of package
// fabricnet: `fabricnet up` returns once the chaincode is committed and
// leaves the processes running; `fabricnet down` stops them.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/riskmesh/riskmesh/deploy/fabric"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fabricnet:", err)
		os.Exit(1)
	}
}

func usage() error {
	return fmt.Errorf("usage: fabricnet up|down|info [-dir DIR] [-port BASE] [-batch-timeout D] [-chaincode BIN] [-cc-env K=V,...]")
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("fabricnet "+cmd, flag.ContinueOnError)
	dir := fs.String("dir", "", "data dir (default <repo>/deploy/fabric/.run)")
	port := fs.Int("port", 0, "base port; the network uses base..base+49 (default: first free block from 27050)")
	batch := fs.Duration("batch-timeout", 0, "orderer BatchTimeout (default 100ms)")
	ccBin := fs.String("chaincode", "", "chaincode server binary (default: built from ./cmd/riskmesh-chaincode)")
	ccEnv := fs.String("cc-env", "", "comma-separated K=V added to the chaincode server's environment")
	logSpec := fs.String("log-spec", "", "FABRIC_LOGGING_SPEC of peers and orderer (default info)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usage()
	}
	dataDir := *dir
	if dataDir == "" {
		repo, err := fabric.FindRepoDir()
		if err != nil {
			return err
		}
		dataDir = repo + "/deploy/fabric/.run"
	}
	switch cmd {
	case "up":
		cfg := fabric.Config{
			DataDir:      dataDir,
			BasePort:     *port,
			BatchTimeout: *batch,
			LogSpec:      *logSpec,
			Logger:       slog.New(slog.NewTextHandler(os.Stderr, nil)),
		}
		cfg.Chaincode.Binary = *ccBin
		if *ccEnv != "" {
			cfg.Chaincode.Env = strings.Split(*ccEnv, ",")
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		start := time.Now()
		n, err := fabric.Up(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "network up in %s (processes %s); data in %s; stop with: fabricnet down -dir %s\n",
			time.Since(start).Round(time.Millisecond), n.Info().BringUp.Round(time.Millisecond), dataDir, dataDir)
		return nil
	case "down":
		return fabric.Down(dataDir)
	case "info":
		info, err := fabric.Load(dataDir)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(info)
	default:
		return usage()
	}
}
