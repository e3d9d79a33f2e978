package fabric

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// markerFile marks a data dir as created by this package; Up wipes a
// non-empty data dir only if it carries the marker, so a mistyped path never
// deletes someone's files.
const markerFile = ".fabricnet"

// Info describes a running network: what a client needs to connect, written
// to network.json in the data dir so that tools can use a network that
// `fabricnet up` started.
type Info struct {
	DataDir          string        `json:"dataDir"`
	BasePort         int           `json:"basePort"`
	Channel          string        `json:"channel"`
	Chaincode        string        `json:"chaincode"`
	PackageID        string        `json:"packageId"`
	ChaincodeAddress string        `json:"chaincodeAddress"`
	OrdererAddress   string        `json:"ordererAddress"`
	OrdererTLSCACert string        `json:"ordererTlsCaCert"`
	OrdererOpsURL    string        `json:"ordererOperationsUrl"`
	Orgs             []Org         `json:"orgs"`
	BringUp          time.Duration `json:"bringUpNanos"`
}

// Org is one organisation's view of the network: its own peer and its client
// user, as cryptogen generated them. Paths are absolute.
type Org struct {
	Name          string `json:"name"`
	MSPID         string `json:"mspId"`
	PeerAddress   string `json:"peerAddress"`   // host:port of the org's peer (gateway)
	PeerTLSCACert string `json:"peerTlsCaCert"` // PEM of the CA that signed the peer's TLS certificate
	UserCert      string `json:"userCert"`      // PEM signing certificate of User1
	UserKey       string `json:"userKey"`       // PEM PKCS#8 private key of User1
	OperationsURL string `json:"operationsUrl"` // http://host:port of /healthz and /metrics
	ProfileURL    string `json:"profileUrl"`    // http://host:port of /debug/pprof
}

// Process is a running process of the network.
type Process struct {
	Name string // "orderer", "peer-regulator", ..., "chaincode"
	PID  int
}

// Network is a network started by Up. Stop it when done.
type Network struct {
	info                Info
	layout              layout
	binDir              string
	orgs                []Org
	ordererAddress      string
	ordererAdminAddress string

	sp   *spawner
	mu   sync.Mutex
	proc []*process
}

// Up builds what is missing, generates crypto material and configuration,
// starts the orderer, one peer per organisation and the chaincode server,
// creates the channel and commits the chaincode. On any failure it stops
// what it started and returns the error.
func Up(ctx context.Context, cfg Config) (_ *Network, err error) {
	start := time.Now()
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	l := layout{dataDir: cfg.DataDir}
	if err := prepareDataDir(l); err != nil {
		return nil, err
	}
	// Building is bounded by the caller's context only: a clean build of
	// Fabric takes minutes on a loaded machine, bring-up takes seconds.
	if err := EnsureBinaries(ctx, cfg.RepoDir, cfg.BinDir); err != nil {
		return nil, err
	}
	log.Info("fabric binaries ready", "dir", cfg.BinDir, "elapsed", time.Since(start))
	if cfg.Chaincode.Binary == "" {
		cfg.Chaincode.Binary = filepath.Join(l.binDir(), "riskmesh-chaincode")
		if err := buildChaincode(ctx, cfg.RepoDir, cfg.Chaincode.Binary); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	sampleDir, err := sampleConfigDir(ctx, cfg.RepoDir)
	if err != nil {
		return nil, err
	}

	base := cfg.BasePort
	n := &Network{
		layout:              l,
		binDir:              cfg.BinDir,
		ordererAddress:      addr(base + ordererPortOffset),
		ordererAdminAddress: addr(base + ordererAdminOffset),
		sp:                  newSpawner(),
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.Stop())
		}
	}()
	n.info = Info{
		DataDir: l.dataDir, BasePort: base, Channel: ChannelName, Chaincode: ChaincodeName,
		ChaincodeAddress: addr(base + chaincodePortOffset),
		OrdererAddress:   n.ordererAddress,
		OrdererTLSCACert: l.ordererTLSCA(),
		OrdererOpsURL:    "http://" + addr(base+ordererOpsOffset),
	}

	setupStart := time.Now()
	if err := generateCrypto(ctx, l, cfg.BinDir); err != nil {
		return nil, err
	}
	for i, o := range Orgs {
		org, err := describeOrg(l, base, i)
		if err != nil {
			return nil, fmt.Errorf("crypto material of %s: %w", o.MSPID, err)
		}
		n.orgs = append(n.orgs, org)
	}
	n.info.Orgs = n.orgs
	if err := writeConfigtx(ctx, l, cfg.BinDir, base, cfg.BatchTimeout, cfg.MaxMessageCount); err != nil {
		return nil, err
	}
	if err := writeOrdererConfig(sampleDir, l, base); err != nil {
		return nil, err
	}
	for i := range Orgs {
		if err := writePeerConfig(sampleDir, l, base, i); err != nil {
			return nil, err
		}
	}
	if err := installBuilder(l.builderDir()); err != nil {
		return nil, err
	}
	pkg, pkgID, err := ccaasPackage(cfg.Chaincode.Label, n.info.ChaincodeAddress)
	if err != nil {
		return nil, err
	}
	n.info.PackageID = pkgID
	pkgFile := filepath.Join(l.chaincodeDir(), ChaincodeName+".tar.gz")
	if err := os.WriteFile(pkgFile, pkg, 0o644); err != nil {
		return nil, err
	}
	log.Info("material generated", "elapsed", time.Since(setupStart))

	// Start everything at once; readiness is polled below.
	startAt := time.Now()
	// GOMEMLIMIT makes the Go runtime collect harder as a process nears the
	// limit, which keeps large record batches from growing each peer to
	// hundreds of MiB.
	memLimit := fmt.Sprintf("GOMEMLIMIT=%dMiB", cfg.MemoryLimitMiB)
	fabricEnv := []string{"FABRIC_LOGGING_SPEC=" + cfg.LogSpec, memLimit}
	orderer, err := n.start("orderer", filepath.Join(cfg.BinDir, "orderer"), []string{"start"},
		append(fabricEnv, "FABRIC_CFG_PATH="+l.ordererDir()), l.ordererDir(), cfg.KillWithParent)
	if err != nil {
		return nil, err
	}
	peers := make([]*process, len(Orgs))
	for i, o := range Orgs {
		peers[i], err = n.start("peer-"+o.Name, filepath.Join(cfg.BinDir, "peer"), []string{"node", "start"},
			append(fabricEnv, "FABRIC_CFG_PATH="+l.peerDir(o.Name)), l.peerDir(o.Name), cfg.KillWithParent)
		if err != nil {
			return nil, err
		}
	}
	// The regulator is fixed at deployment by the chaincode server's
	// configuration: here, the network's regulator organisation. Entries of
	// Chaincode.Env come later and so override it.
	ccEnv := append([]string{
		"CHAINCODE_ID=" + pkgID,
		"CHAINCODE_SERVER_ADDRESS=" + n.info.ChaincodeAddress,
		"RISKMESH_REGULATOR_MSPID=" + RegulatorMSPID,
		memLimit,
	}, cfg.Chaincode.Env...)
	cc, err := n.start("chaincode", cfg.Chaincode.Binary, cfg.Chaincode.Args, ccEnv, l.chaincodeDir(), cfg.KillWithParent)
	if err != nil {
		return nil, err
	}

	// Orderer: healthy, joined, leader of the channel's Raft cluster.
	ordererReady := make(chan error, 1)
	go func() {
		// Operations, admin and gRPC listeners come up one after the other.
		err := waitFor(ctx, "orderer health", orderer, httpReady(n.info.OrdererOpsURL+"/healthz"))
		if err == nil {
			err = waitFor(ctx, "orderer admin listener", orderer, tcpReady(n.ordererAdminAddress))
		}
		if err == nil {
			err = n.joinOrderer(ctx)
		}
		if err == nil {
			want := fmt.Sprintf("consensus_etcdraft_is_leader{channel=%q} 1", ChannelName)
			err = waitFor(ctx, "orderer raft leader", orderer, metricReady(n.info.OrdererOpsURL+"/metrics", want))
		}
		if err == nil {
			log.Info("orderer ready", "elapsed", time.Since(startAt))
		}
		ordererReady <- err
	}()
	// Peers: healthy, joined, chaincode installed. A peer can join before
	// the orderer is the Raft leader; it pulls blocks once there is one.
	if err := forEachOrg(func(i int) error {
		// The operations server answers before the gRPC listener is up.
		if err := waitFor(ctx, "peer health of "+Orgs[i].MSPID, peers[i], httpReady(n.orgs[i].OperationsURL+"/healthz")); err != nil {
			return err
		}
		if err := waitFor(ctx, "peer listener of "+Orgs[i].MSPID, peers[i], tcpReady(n.orgs[i].PeerAddress)); err != nil {
			return err
		}
		a := peerAdmin{net: n, i: i}
		if err := a.joinChannel(ctx); err != nil {
			return fmt.Errorf("join %s: %w", Orgs[i].MSPID, err)
		}
		if err := a.install(ctx, pkgFile); err != nil {
			return fmt.Errorf("install on %s: %w", Orgs[i].MSPID, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	log.Info("peers joined, chaincode installed", "elapsed", time.Since(startAt))
	if err := <-ordererReady; err != nil {
		return nil, err
	}
	if err := waitFor(ctx, "chaincode server", cc, tcpReady(n.info.ChaincodeAddress)); err != nil {
		return nil, err
	}
	if err := forEachOrg(func(i int) error {
		if err := (peerAdmin{net: n, i: i}).approve(ctx, pkgID); err != nil {
			return fmt.Errorf("approve for %s: %w", Orgs[i].MSPID, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if err := (peerAdmin{net: n, i: 0}).commit(ctx); err != nil {
		return nil, fmt.Errorf("commit chaincode definition: %w", err)
	}
	log.Info("chaincode committed", "elapsed", time.Since(startAt))
	if err := forEachOrg(func(i int) error {
		check, closeFn, err := gatewayReady(n.orgs[i])
		if err != nil {
			return err
		}
		defer closeFn()
		return waitEvery(ctx, gatewayPollInterval, "gateway endorsement for "+Orgs[i].MSPID, cc, check)
	}); err != nil {
		return nil, err
	}
	log.Info("every gateway can endorse", "elapsed", time.Since(startAt))
	n.info.BringUp = time.Since(startAt)
	b, err := json.MarshalIndent(n.info, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(l.networkFile(), b, 0o644); err != nil {
		return nil, err
	}
	return n, nil
}

// prepareDataDir stops leftovers of an earlier network in the data dir, wipes
// it and creates the folder tree.
func prepareDataDir(l layout) error {
	entries, err := os.ReadDir(l.dataDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case len(entries) > 0:
		if _, err := os.Stat(l.path(markerFile)); err != nil {
			return fmt.Errorf("%w: data dir %s is not empty and was not created by fabricnet", ErrConfig, l.dataDir)
		}
		if err := stopPidFiles(l.pidDir()); err != nil {
			return err
		}
		if err := os.RemoveAll(l.dataDir); err != nil {
			return err
		}
	}
	dirs := []string{l.configDir(), l.ordererDir(), l.builderDir(), l.chaincodeDir(), l.logDir(), l.pidDir(), l.binDir()}
	for _, o := range Orgs {
		dirs = append(dirs, l.peerDir(o.Name))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(l.path(markerFile), nil, 0o644)
}

func describeOrg(l layout, base, i int) (Org, error) {
	o := Orgs[i]
	msp := l.userMSPDir(o.Name, "User1")
	cert, err := userCertFile(msp)
	if err != nil {
		return Org{}, err
	}
	key, err := userKeyFile(msp)
	if err != nil {
		return Org{}, err
	}
	p := peerPort(base, i)
	return Org{
		Name:          o.Name,
		MSPID:         o.MSPID,
		PeerAddress:   addr(p),
		PeerTLSCACert: l.peerTLSCA(o.Name),
		UserCert:      cert,
		UserKey:       key,
		OperationsURL: "http://" + addr(p-peerListenOffset+peerOpsOffset),
		ProfileURL:    "http://" + addr(p-peerListenOffset+peerProfileOffset),
	}, nil
}

// forEachOrg runs f for every organisation concurrently and joins the errors.
func forEachOrg(f func(i int) error) error {
	errs := make([]error, len(Orgs))
	var wg sync.WaitGroup
	for i := range Orgs {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (n *Network) start(name, path string, args, env []string, dir string, killWithParent bool) (*process, error) {
	l := n.layout
	p, err := startProcess(n.sp, name, path, args, append(baseEnv(), env...), dir, l.logFile(name), l.pidFile(name), killWithParent)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.proc = append(n.proc, p)
	n.mu.Unlock()
	return p, nil
}

// Info describes the network.
func (n *Network) Info() Info { return n.info }

// Org returns the organisation with the given MSP id.
func (n *Network) Org(mspID string) (Org, error) { return n.info.Org(mspID) }

// Org returns the organisation with the given MSP id.
func (i Info) Org(mspID string) (Org, error) {
	for _, o := range i.Orgs {
		if o.MSPID == mspID {
			return o, nil
		}
	}
	return Org{}, fmt.Errorf("%w: %s", ErrUnknownOrg, mspID)
}

// Processes lists the running processes, e.g. to read their CPU time.
func (n *Network) Processes() []Process {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ps []Process
	for _, p := range n.proc {
		if !p.exited() {
			ps = append(ps, Process{Name: p.name, PID: p.pid})
		}
	}
	return ps
}

// Stop stops every process the network started, in reverse start order (the
// chaincode server first, the orderer last). It is safe to call more than
// once and from several goroutines.
func (n *Network) Stop() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for i := len(n.proc) - 1; i >= 0; i-- {
		errs = append(errs, n.proc[i].stop())
	}
	n.proc = nil
	if n.sp != nil {
		n.sp.close()
		n.sp = nil
	}
	return errors.Join(errs...)
}

// Load reads the description of a network started in dataDir (by Up, the
// CLI or a test).
func Load(dataDir string) (Info, error) {
	b, err := os.ReadFile(layout{dataDir: dataDir}.networkFile())
	if errors.Is(err, os.ErrNotExist) {
		return Info{}, fmt.Errorf("%w: %s", ErrNoNetwork, dataDir)
	}
	if err != nil {
		return Info{}, err
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		return Info{}, fmt.Errorf("%w: %s: %v", ErrNoNetwork, dataDir, err)
	}
	return info, nil
}

// Down stops the processes recorded in dataDir's pid files: exactly those a
// network started there, even by another process. A second call finds no pid
// files and does nothing.
func Down(dataDir string) error {
	return stopPidFiles(layout{dataDir: dataDir}.pidDir())
}
