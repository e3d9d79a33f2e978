package fabric

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// markerFile marks a data dir as created by this package; Up wipes a
// non-empty data dir only if it carries the marker, so a mistyped path never
// deletes someone's files.
const markerFile = ".fabricnet"

// Info describes a running network: what a client needs to connect, written
// to network.json in the data dir so that tools (and later `fabricnet`
// commands that change the network) can use a network that another process
// started.
type Info struct {
	DataDir          string        `json:"dataDir"`
	BasePort         int           `json:"basePort"`
	Channel          string        `json:"channel"`
	Chaincode        string        `json:"chaincode"`
	PackageID        string        `json:"packageId"`
	ChaincodeLabel   string        `json:"chaincodeLabel"`
	ChaincodeVersion string        `json:"chaincodeVersion"`
	Sequence         int           `json:"sequence"` // of the committed chaincode definition
	ChaincodeAddress string        `json:"chaincodeAddress"`
	OrdererAddress   string        `json:"ordererAddress"` // the first orderer's
	OrdererTLSCACert string        `json:"ordererTlsCaCert"`
	OrdererOpsURL    string        `json:"ordererOperationsUrl"`
	Orderers         []Orderer     `json:"orderers"`
	Orgs             []Org         `json:"orgs"`
	Joining          []Org         `json:"joining,omitempty"` // on the channel, AddOrg failed after the update: RemoveOrg takes them off
	BringUp          time.Duration `json:"bringUpNanos"`
}

// Org is one organisation's view of the network: its own folder, peer and
// client user, as cryptogen generated them. Paths are absolute.
type Org struct {
	Name          string `json:"name"`
	MSPID         string `json:"mspId"`
	Slot          int    `json:"slot"`          // port slot of its peer (docs/fabric-network.md, "Ports")
	Dir           string `json:"dir"`           // the organisation's own folder
	PeerAddress   string `json:"peerAddress"`   // host:port of the org's peer (gateway)
	PeerTLSCACert string `json:"peerTlsCaCert"` // PEM of the CA that signed the peer's TLS certificate
	UserCert      string `json:"userCert"`      // PEM signing certificate of User1
	UserKey       string `json:"userKey"`       // PEM PKCS#8 private key of User1
	OperationsURL string `json:"operationsUrl"` // http://host:port of /healthz and /metrics
	ProfileURL    string `json:"profileUrl"`    // http://host:port of /debug/pprof
}

func (o Org) spec() OrgSpec { return OrgSpec{Name: o.Name, MSPID: o.MSPID} }

// Orderer is one Raft orderer and the organisation that runs it.
type Orderer struct {
	Org           string `json:"org"`   // the peer organisation that runs it
	MSPID         string `json:"mspId"` // its ordering organisation
	Slot          int    `json:"slot"`
	Address       string `json:"address"`      // broadcast, deliver and Raft cluster
	AdminAddress  string `json:"adminAddress"` // channel participation API
	TLSCACert     string `json:"tlsCaCert"`
	TLSCert       string `json:"tlsCert"` // PEM certificate it serves and presents to the other orderers
	TLSKey        string `json:"tlsKey"`  // PEM PKCS#8 key of TLSCert
	OperationsURL string `json:"operationsUrl"`
}

// Process is a running process of the network.
type Process struct {
	Name string // "orderer-regulator", "peer-bank1", ..., "chaincode-1"
	PID  int
}

// Network is a network started by Up. Stop it when done.
type Network struct {
	info      Info
	layout    layout
	cfg       Config // with defaults; Chaincode.Binary set
	sampleDir string

	sp   *spawner
	mu   sync.Mutex
	proc []*process
}

// Up builds what is missing, has every founding organisation generate its
// crypto material in its own folder, writes the configuration, starts the
// orderers, one peer per organisation and the chaincode server, creates the
// channel and commits the chaincode. On any failure it stops what it
// started and returns the error.
func Up(ctx context.Context, cfg Config) (_ *Network, err error) {
	start := time.Now()
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	claim, err := cfg.choosePorts()
	if err != nil {
		return nil, err
	}
	// Once Up returns, the network's processes hold its ports.
	defer claim.Close()
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
	n := &Network{layout: l, cfg: cfg, sampleDir: sampleDir, sp: newSpawner()}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.Stop())
		}
	}()
	n.info = Info{DataDir: l.dataDir, BasePort: base, Channel: ChannelName, Chaincode: ChaincodeName}

	setupStart := time.Now()
	if err := forEach(len(cfg.Orgs), func(i int) error {
		return generateOrgCrypto(ctx, l, cfg.BinDir, cfg.Orgs[i], i < cfg.Orderers)
	}); err != nil {
		return nil, err
	}
	for i, o := range cfg.Orgs {
		org, err := describeOrg(l, base, i, o)
		if err != nil {
			return nil, fmt.Errorf("crypto material of %s: %w", o.MSPID, err)
		}
		n.info.Orgs = append(n.info.Orgs, org)
	}
	var clusterCAs []string
	for j, o := range cfg.Orgs[:cfg.Orderers] {
		n.info.Orderers = append(n.info.Orderers, describeOrderer(l, base, j, o))
		clusterCAs = append(clusterCAs, l.ordererTLSCA(o.Name))
	}
	first := n.info.Orderers[0]
	n.info.OrdererAddress, n.info.OrdererTLSCACert, n.info.OrdererOpsURL = first.Address, first.TLSCACert, first.OperationsURL
	settings := channelSettings{base: base, orgs: cfg.Orgs, orderers: cfg.Orderers,
		batchTimeout: cfg.BatchTimeout, maxMessages: cfg.MaxMessageCount}
	if err := writeGenesis(ctx, l, cfg.BinDir, settings); err != nil {
		return nil, err
	}
	for j, o := range cfg.Orgs[:cfg.Orderers] {
		if err := writeOrdererConfig(sampleDir, l, base, j, o, clusterCAs); err != nil {
			return nil, err
		}
	}
	for i, o := range cfg.Orgs {
		if err := writePeerConfig(sampleDir, l, base, i, o); err != nil {
			return nil, err
		}
	}
	if err := installBuilder(l.builderDir()); err != nil {
		return nil, err
	}
	def := chaincodeDefinition{label: cfg.Chaincode.Label, version: chaincodeVersion, sequence: 1}
	if err := n.writePackage(&def); err != nil {
		return nil, err
	}
	log.Info("material generated", "elapsed", time.Since(setupStart))

	// Start everything at once; readiness is polled below.
	startAt := time.Now()
	orderers := make([]*process, len(n.info.Orderers))
	for j, o := range n.info.Orderers {
		if orderers[j], err = n.startOrderer(o); err != nil {
			return nil, err
		}
	}
	peers := make([]*process, len(n.info.Orgs))
	for i, o := range n.info.Orgs {
		if peers[i], err = n.startPeer(o); err != nil {
			return nil, err
		}
	}
	cc, err := n.startChaincode(def)
	if err != nil {
		return nil, err
	}

	// Orderers: healthy, joined, and the channel's Raft cluster has a leader.
	ordererReady := make(chan error, 1)
	go func() {
		err := forEach(len(orderers), func(j int) error {
			return n.joinOrderer(ctx, n.info.Orderers[j], orderers[j], l.genesisBlock())
		})
		if err == nil {
			err = waitFor(ctx, "orderer raft leader", nil, n.raftLeader(orderers))
		}
		if err == nil {
			log.Info("orderers ready", "elapsed", time.Since(startAt))
		}
		ordererReady <- err
	}()
	// Peers: healthy, joined, chaincode installed. A peer can join before
	// the orderers have a leader; it pulls blocks once there is one.
	if err := forEach(len(peers), func(i int) error {
		return n.joinPeer(ctx, n.info.Orgs[i], peers[i], l.genesisBlock(), def)
	}); err != nil {
		return nil, err
	}
	log.Info("peers joined, chaincode installed", "elapsed", time.Since(startAt))
	if err := <-ordererReady; err != nil {
		return nil, err
	}
	if err := waitFor(ctx, "chaincode server", cc, tcpReady(def.address)); err != nil {
		return nil, err
	}
	if err := forEach(len(n.info.Orgs), func(i int) error {
		return n.admin(n.info.Orgs[i]).approve(ctx, def)
	}); err != nil {
		return nil, err
	}
	if err := n.admin(n.info.Orgs[0]).commit(ctx, def, n.info.Orgs); err != nil {
		return nil, err
	}
	n.setDefinition(def)
	log.Info("chaincode committed", "elapsed", time.Since(startAt))
	if err := n.gatewaysReady(ctx, n.info.Orgs, cc); err != nil {
		return nil, err
	}
	log.Info("every gateway can endorse", "elapsed", time.Since(startAt))
	n.info.BringUp = time.Since(startAt)
	if err := n.save(); err != nil {
		return nil, err
	}
	return n, nil
}

// Open returns the network that Up started in cfg.DataDir, maybe in another
// process (`fabricnet up`), so that it can be changed: AddOrg, RemoveOrg,
// UpgradeChaincode, StopOrderer. Of cfg, the paths, Chaincode, LogSpec,
// MemoryLimitMiB, StartTimeout, KillWithParent and Logger apply to what it
// starts; the rest comes from the network's description. Stop stops only
// the processes this Network started.
func Open(ctx context.Context, cfg Config) (*Network, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	info, err := Load(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	l := layout{dataDir: cfg.DataDir}
	cfg.BasePort = info.BasePort
	cfg.Chaincode.Binary = cmp.Or(cfg.Chaincode.Binary, filepath.Join(l.binDir(), "riskmesh-chaincode"))
	sampleDir, err := sampleConfigDir(ctx, cfg.RepoDir)
	if err != nil {
		return nil, err
	}
	return &Network{info: info, layout: l, cfg: cfg, sampleDir: sampleDir, sp: newSpawner()}, nil
}

// startOrderer starts the orderer that o describes from its organisation's
// folder.
func (n *Network) startOrderer(o Orderer) (*process, error) {
	dir := n.layout.ordererDir(o.Org)
	return n.start("orderer-"+o.Org, filepath.Join(n.cfg.BinDir, "orderer"), []string{"start"},
		append(n.fabricEnv(), "FABRIC_CFG_PATH="+dir), dir)
}

// startPeer starts o's peer from its organisation's folder.
func (n *Network) startPeer(o Org) (*process, error) {
	dir := n.layout.peerDir(o.Name)
	return n.start("peer-"+o.Name, filepath.Join(n.cfg.BinDir, "peer"), []string{"node", "start"},
		append(n.fabricEnv(), "FABRIC_CFG_PATH="+dir), dir)
}

// fabricEnv is the environment of the orderers and peers. GOMEMLIMIT makes
// the Go runtime collect harder as a process nears the limit, which keeps
// large record batches from growing each peer to hundreds of MiB.
func (n *Network) fabricEnv() []string {
	return []string{"FABRIC_LOGGING_SPEC=" + n.cfg.LogSpec, n.memLimit()}
}

func (n *Network) memLimit() string { return fmt.Sprintf("GOMEMLIMIT=%dMiB", n.cfg.MemoryLimitMiB) }

// joinOrderer waits for orderer o to serve and joins it to the channel
// through the channel participation API, with block: the genesis block, or
// the latest configuration block for an orderer that joins later.
func (n *Network) joinOrderer(ctx context.Context, o Orderer, p *process, block string) error {
	// Operations, admin and gRPC listeners come up one after the other.
	if err := waitFor(ctx, "health of "+p.name, p, httpReady(o.OperationsURL+"/healthz")); err != nil {
		return err
	}
	if err := waitFor(ctx, "admin listener of "+p.name, p, tcpReady(o.AdminAddress)); err != nil {
		return err
	}
	_, err := n.osnadmin(ctx, o, "channel", "join", "--channelID", ChannelName, "--config-block", block)
	if err != nil {
		return fmt.Errorf("join %s to %s: %w", p.name, ChannelName, err)
	}
	return nil
}

// raftLeader reports whether one of the orderers leads the channel's Raft
// cluster, failing early if every orderer process has exited.
func (n *Network) raftLeader(procs []*process) func(context.Context) (bool, error) {
	want := fmt.Sprintf("consensus_etcdraft_is_leader{channel=%q} 1", ChannelName)
	return func(ctx context.Context) (bool, error) {
		var errs []error
		for j, o := range n.info.Orderers {
			if procs[j] != nil && procs[j].exited() {
				errs = append(errs, fmt.Errorf("%w: %s: %s", ErrExited, procs[j].name, logTail(procs[j])))
				continue
			}
			ok, err := metricReady(o.OperationsURL+"/metrics", want)(ctx)
			if ok {
				return true, nil
			}
			errs = append(errs, err)
		}
		return false, errors.Join(errs...)
	}
}

// joinPeer waits for o's peer to serve, joins it to the channel with block
// (the genesis block) and installs the chaincode package of def.
func (n *Network) joinPeer(ctx context.Context, o Org, p *process, block string, def chaincodeDefinition) error {
	// The operations server answers before the gRPC listener is up.
	if err := waitFor(ctx, "peer health of "+o.MSPID, p, httpReady(o.OperationsURL+"/healthz")); err != nil {
		return err
	}
	if err := waitFor(ctx, "peer listener of "+o.MSPID, p, tcpReady(o.PeerAddress)); err != nil {
		return err
	}
	a := n.admin(o)
	if err := a.joinChannel(ctx, block); err != nil {
		return err
	}
	return a.install(ctx, n.packageFile(def.label))
}

// gatewaysReady waits until the gateway of every organisation in orgs can
// collect endorsements that satisfy the chaincode's policy.
func (n *Network) gatewaysReady(ctx context.Context, orgs []Org, cc *process) error {
	return forEach(len(orgs), func(i int) error {
		check, closeFn, err := gatewayReady(orgs[i])
		if err != nil {
			return err
		}
		defer closeFn()
		return waitEvery(ctx, gatewayPollInterval, "gateway endorsement for "+orgs[i].MSPID, cc, check)
	})
}

// save writes network.json.
func (n *Network) save() error {
	n.mu.Lock()
	b, err := json.MarshalIndent(n.info, "", "  ")
	n.mu.Unlock()
	if err != nil {
		return err
	}
	return os.WriteFile(n.layout.networkFile(), b, 0o644)
}

// prepareDataDir stops leftovers of an earlier network in the data dir, wipes
// it and creates the shared folders; every organisation creates its own.
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
	for _, d := range []string{l.configDir(), l.builderDir(), l.chaincodeDir(), l.logDir(), l.pidDir(), l.binDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(l.path(markerFile), nil, 0o644)
}

// describeOrg reads the client identity organisation o generated and
// places its peer in port slot i.
func describeOrg(l layout, base, i int, o OrgSpec) (Org, error) {
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
		Slot:          i,
		Dir:           l.orgDir(o.Name),
		PeerAddress:   addr(p),
		PeerTLSCACert: l.peerTLSCA(o.Name),
		UserCert:      cert,
		UserKey:       key,
		OperationsURL: "http://" + addr(p-peerListenOffset+peerOpsOffset),
		ProfileURL:    "http://" + addr(p-peerListenOffset+peerProfileOffset),
	}, nil
}

// describeOrderer places the orderer that o runs in orderer slot j.
func describeOrderer(l layout, base, j int, o OrgSpec) Orderer {
	p := ordererBase(base, j)
	return Orderer{
		Org: o.Name, MSPID: o.ordererMSPID(), Slot: j,
		Address:       addr(p + ordererPortOffset),
		AdminAddress:  addr(p + ordererAdminOffset),
		TLSCACert:     l.ordererTLSCA(o.Name),
		TLSCert:       filepath.Join(l.ordererNodeDir(o.Name), "tls", "server.crt"),
		TLSKey:        filepath.Join(l.ordererNodeDir(o.Name), "tls", "server.key"),
		OperationsURL: "http://" + addr(p+ordererOpsOffset),
	}
}

// forEach runs f for 0..n-1 concurrently and joins the errors.
func forEach(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (n *Network) start(name, path string, args, env []string, dir string) (*process, error) {
	l := n.layout
	n.mu.Lock()
	sp := n.sp
	n.mu.Unlock()
	if sp == nil {
		return nil, fmt.Errorf("%w: start %s", ErrStopped, name)
	}
	p, err := startProcess(sp, name, path, args, append(baseEnv(), env...), dir, l.logFile(name), l.pidFile(name), n.cfg.KillWithParent)
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	n.proc = append(n.proc, p)
	n.mu.Unlock()
	return p, nil
}

// Info describes the network.
func (n *Network) Info() Info {
	n.mu.Lock()
	defer n.mu.Unlock()
	info := n.info
	info.Orgs = slices.Clone(info.Orgs)
	info.Orderers = slices.Clone(info.Orderers)
	info.Joining = slices.Clone(info.Joining)
	return info
}

// Org returns the organisation with the given MSP id.
func (n *Network) Org(mspID string) (Org, error) { return n.Info().Org(mspID) }

// Org returns the organisation with the given MSP id.
func (i Info) Org(mspID string) (Org, error) {
	for _, o := range i.Orgs {
		if o.MSPID == mspID {
			return o, nil
		}
	}
	return Org{}, fmt.Errorf("%w: %s", ErrUnknownOrg, mspID)
}

// Credentials are what a ledger client of one organisation needs to reach
// a gateway peer: the fields of accounting/fabric's Config, read from the
// organisations' folders.
type Credentials struct {
	MSPID       string
	PeerAddress string // the gateway peer
	TLSRootCert []byte // PEM CA of the gateway peer's TLS certificate
	Certificate []byte // PEM certificate of the organisation's User1
	PrivateKey  []byte // PEM PKCS#8 private key of User1
}

// Credentials reads what a client of organisation mspID needs to reach the
// gateway peer of organisation via (mspID itself for its own peer).
func (i Info) Credentials(mspID, via string) (Credentials, error) {
	org, err := i.Org(mspID)
	if err != nil {
		return Credentials{}, err
	}
	gw, err := i.Org(via)
	if err != nil {
		return Credentials{}, err
	}
	c := Credentials{MSPID: org.MSPID, PeerAddress: gw.PeerAddress}
	for _, f := range []struct {
		dst  *[]byte
		path string
	}{{&c.TLSRootCert, gw.PeerTLSCACert}, {&c.Certificate, org.UserCert}, {&c.PrivateKey, org.UserKey}} {
		if *f.dst, err = os.ReadFile(f.path); err != nil {
			return Credentials{}, err
		}
	}
	return c, nil
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
