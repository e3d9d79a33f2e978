// Command fabricnet starts, changes and stops the local Fabric network of
// package deploy/fabric: `fabricnet up` returns once the chaincode is
// committed and leaves the processes running; `add-org`, `remove-org`,
// `upgrade`, `renew-certs`, `renew-orderer`, `rotate-ca`, `retire-ca`,
// `remove-orderer`, `add-orderer` and `stop-orderer` change the running
// network the way a consortium does (docs/operations.md); `members` and
// `consenters` show the channel's own view; `fabricnet down` stops it.
package main

import (
	"context"
	"encoding/json"
	"errors"
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
	return fmt.Errorf("usage: fabricnet up|down|info|members|consenters|add-org|remove-org|upgrade|renew-certs|renew-orderer|rotate-ca|retire-ca|remove-orderer|add-orderer|leader|stop-orderer [-dir DIR] [flags]; fabricnet CMD -h lists a command's flags")
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
	}
	cmd, args := args[0], args[1:]
	fs := flag.NewFlagSet("fabricnet "+cmd, flag.ContinueOnError)
	dir := fs.String("dir", "", "data dir (default <repo>/deploy/fabric/.run)")
	port := fs.Int("port", 0, "up: base port; the network uses base..base+99 (default: first free block from 27050)")
	batch := fs.Duration("batch-timeout", 0, "orderer BatchTimeout (default 100ms)")
	ccBin := fs.String("chaincode", "", "chaincode server binary (default: built from ./cmd/riskmesh-chaincode)")
	ccEnv := fs.String("cc-env", "", "comma-separated K=V added to the chaincode server's environment")
	logSpec := fs.String("log-spec", "", "FABRIC_LOGGING_SPEC of peers and orderer (default info)")
	orgs := fs.String("orgs", "", "up: founding organisations as name:MSPID,... (default the regulator and bank1-3); add-org: the one to add")
	msp := fs.String("msp", "", "remove-org: the MSP id of the organisation to remove (a member or one whose add-org failed); renew-certs: whose peer's certificates to renew; rotate-ca, retire-ca: whose CA")
	signers := fs.String("signers", "", "add-org, remove-org: MSP ids of the admins who sign, a majority of the members; upgrade: of those who approve first, a majority; renew-orderer, remove-orderer, add-orderer: MSP ids of organisations whose ordering admins sign, a majority of the ordering organisations (for remove-orderer and add-orderer, the orderer's own among them)")
	label := fs.String("label", "", "upgrade: the new chaincode package label, e.g. riskmesh_2")
	org := fs.String("org", "", "stop-orderer, renew-orderer, remove-orderer, add-orderer: the organisation (name) whose orderer it is")
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
	list := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	switch cmd {
	case "up":
		if *orgs != "" {
			specs, err := fabric.ParseOrgs(*orgs)
			if err != nil {
				return err
			}
			cfg.Orgs = specs
		}
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
	}
	change, ok := changes[cmd]
	if !ok {
		return usage()
	}
	n, err := fabric.Open(ctx, cfg)
	if err != nil {
		return err
	}
	return change(ctx, n, flags{orgs: *orgs, msp: *msp, org: *org, label: *label, signers: list(*signers)})
}

// flags are the values of a command that changes or reads a running
// network.
type flags struct {
	orgs, msp, org, label string
	signers               []string
}

// changes are the commands on a running network (Open): each prints a
// result to stdout or progress to stderr.
var changes = map[string]func(context.Context, *fabric.Network, flags) error{
	"add-org": func(ctx context.Context, n *fabric.Network, f flags) error {
		specs, err := fabric.ParseOrgs(f.orgs)
		if err != nil {
			return err
		}
		if len(specs) != 1 {
			return fmt.Errorf("add-org takes one -orgs name:MSPID")
		}
		o, err := n.AddOrg(ctx, specs[0], f.signers)
		if errors.Is(err, fabric.ErrJoinIncomplete) {
			return fmt.Errorf("%w\nthe channel lists %s: take it off with fabricnet remove-org -msp %s -signers <a majority>", err, specs[0].MSPID, specs[0].MSPID)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s joined: peer %s, folder %s\n", o.MSPID, o.PeerAddress, o.Dir)
		return nil
	},
	"remove-org": func(ctx context.Context, n *fabric.Network, f flags) error {
		return n.RemoveOrg(ctx, f.msp, f.signers)
	},
	"upgrade": func(ctx context.Context, n *fabric.Network, f flags) error {
		if err := n.UpgradeChaincode(ctx, f.label, f.signers); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "chaincode at sequence %d, package %s\n", n.Info().Sequence, n.Info().PackageID)
		return nil
	},
	"renew-certs": func(ctx context.Context, n *fabric.Network, f flags) error {
		return n.RenewPeerCertificates(ctx, f.msp)
	},
	"renew-orderer": func(ctx context.Context, n *fabric.Network, f flags) error {
		return n.RenewOrdererTLS(ctx, f.org, f.signers)
	},
	"remove-orderer": func(ctx context.Context, n *fabric.Network, f flags) error {
		return n.RemoveOrderer(ctx, f.org, f.signers)
	},
	"add-orderer": func(ctx context.Context, n *fabric.Network, f flags) error {
		return n.AddOrderer(ctx, f.org, f.signers)
	},
	"rotate-ca": func(ctx context.Context, n *fabric.Network, f flags) error {
		return n.RotateCA(ctx, f.msp)
	},
	"retire-ca": func(ctx context.Context, n *fabric.Network, f flags) error {
		return n.RetireCA(ctx, f.msp)
	},
	"stop-orderer": func(_ context.Context, n *fabric.Network, f flags) error {
		return n.StopOrderer(f.org)
	},
	"members": func(ctx context.Context, n *fabric.Network, _ flags) error {
		return printLines(n.ChannelOrgs(ctx))
	},
	"consenters": func(ctx context.Context, n *fabric.Network, _ flags) error {
		return printLines(n.Consenters(ctx))
	},
	"leader": func(ctx context.Context, n *fabric.Network, _ flags) error {
		leader, err := n.RaftLeader(ctx)
		return printLines([]string{leader}, err)
	},
}

// printLines prints one item a line, unless err.
func printLines(items []string, err error) error {
	if err != nil {
		return err
	}
	for _, it := range items {
		fmt.Println(it)
	}
	return nil
}
