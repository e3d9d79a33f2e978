package manifests

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/riskmesh/riskmesh/node/config"
)

const kubernetesDir = "../kubernetes"

// The objects the manifests name, checked together.
const (
	nodeName      = "riskmesh-node" // the node's StatefulSet and ConfigMap
	nodeContainer = "node"
	nodeConfigKey = "node.yaml"
	peerName      = "fabric-peer" // the Fabric peer's StatefulSet
	peerContainer = "peer"
	healthPath    = "/healthz"
)

// apiVersions are the kinds the manifests may hold and the API group
// version each must name; any other kind is an error, so a new one gets a
// typed decode here before it ships.
var apiVersions = map[string]string{
	"ConfigMap":     "v1",
	"Service":       "v1",
	"StatefulSet":   "apps/v1",
	"NetworkPolicy": "networking.k8s.io/v1",
}

// fabricPeerEnv are the peer settings docs/fabric-network.md needs set per
// peer (the rest comes from core.yaml).
var fabricPeerEnv = []string{
	"FABRIC_CFG_PATH", "CORE_PEER_ID", "CORE_PEER_LOCALMSPID", "CORE_PEER_MSPCONFIGPATH",
	"CORE_PEER_LISTENADDRESS", "CORE_PEER_ADDRESS", "CORE_PEER_CHAINCODELISTENADDRESS",
	"CORE_PEER_CHAINCODEADDRESS", "CORE_PEER_GOSSIP_BOOTSTRAP", "CORE_PEER_GOSSIP_EXTERNALENDPOINT",
	"CORE_PEER_TLS_ENABLED", "CORE_PEER_TLS_CERT_FILE", "CORE_PEER_TLS_KEY_FILE",
	"CORE_PEER_TLS_ROOTCERT_FILE", "CORE_PEER_FILESYSTEMPATH", "CORE_LEDGER_SNAPSHOTS_ROOTDIR",
	"CORE_OPERATIONS_LISTENADDRESS",
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// manifestSet is every object of deploy/kubernetes, by kind and name.
type manifestSet struct {
	configMaps   map[string]*corev1.ConfigMap
	services     map[string]*corev1.Service
	statefulSets map[string]*appsv1.StatefulSet
	policies     map[string]*networkingv1.NetworkPolicy
}

// decodeObject decodes one YAML document strictly into the API type its
// kind names: unknown and duplicate fields are errors.
func decodeObject(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	want, ok := apiVersions[tm.Kind]
	if !ok {
		return nil, fmt.Errorf("kind %q has no typed check", tm.Kind)
	}
	if tm.APIVersion != want {
		return nil, fmt.Errorf("%s: apiVersion %q, want %q", tm.Kind, tm.APIVersion, want)
	}
	var obj any
	switch tm.Kind {
	case "ConfigMap":
		obj = &corev1.ConfigMap{}
	case "Service":
		obj = &corev1.Service{}
	case "StatefulSet":
		obj = &appsv1.StatefulSet{}
	case "NetworkPolicy":
		obj = &networkingv1.NetworkPolicy{}
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

func loadManifests(t *testing.T) *manifestSet {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(kubernetesDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (%v)", kubernetesDir, err)
	}
	s := &manifestSet{
		configMaps:   map[string]*corev1.ConfigMap{},
		services:     map[string]*corev1.Service{},
		statefulSets: map[string]*appsv1.StatefulSet{},
		policies:     map[string]*networkingv1.NetworkPolicy{},
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSeparator.Split(string(data), -1) {
			if onlyComments(doc) {
				continue
			}
			obj, err := decodeObject([]byte(doc))
			if err != nil {
				t.Fatalf("%s, document %d: %v", file, i+1, err)
			}
			if err := s.add(obj); err != nil {
				t.Fatalf("%s, document %d: %v", file, i+1, err)
			}
		}
	}
	return s
}

func onlyComments(doc string) bool {
	for line := range strings.SplitSeq(doc, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

func (s *manifestSet) add(obj any) error {
	var name string
	var dup bool
	switch o := obj.(type) {
	case *corev1.ConfigMap:
		name, dup = o.Name, s.configMaps[o.Name] != nil
		s.configMaps[o.Name] = o
	case *corev1.Service:
		name, dup = o.Name, s.services[o.Name] != nil
		s.services[o.Name] = o
	case *appsv1.StatefulSet:
		name, dup = o.Name, s.statefulSets[o.Name] != nil
		s.statefulSets[o.Name] = o
	case *networkingv1.NetworkPolicy:
		name, dup = o.Name, s.policies[o.Name] != nil
		s.policies[o.Name] = o
	}
	switch {
	case name == "":
		return errors.New("no metadata.name")
	case dup:
		return fmt.Errorf("%q defined twice", name)
	}
	return nil
}

// problems collects what check finds, each naming its object.
type problems []error

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Errorf(format, args...)) }

// check returns every problem of the set.
func (s *manifestSet) check() problems {
	var p problems
	for name, ss := range s.statefulSets {
		s.checkStatefulSet(&p, name, ss)
	}
	for name, svc := range s.services {
		s.checkService(&p, name, svc)
	}
	s.checkNode(&p)
	s.checkFabricPeer(&p)
	return p
}

func (s *manifestSet) checkStatefulSet(p *problems, name string, ss *appsv1.StatefulSet) {
	if svc := s.services[ss.Spec.ServiceName]; svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		p.add("statefulset %s: serviceName %q is not a headless Service of the manifests", name, ss.Spec.ServiceName)
	}
	if ss.Spec.Selector == nil || !labelsMatch(ss.Spec.Selector.MatchLabels, ss.Spec.Template.Labels) {
		p.add("statefulset %s: selector does not match the pod template's labels", name)
	}
	pod := &ss.Spec.Template.Spec
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	for _, c := range ss.Spec.VolumeClaimTemplates {
		volumes[c.Name] = true
	}
	podNonRoot := pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot
	containers := slices.Concat(pod.InitContainers, pod.Containers)
	for i := range containers {
		c := &containers[i]
		where := fmt.Sprintf("statefulset %s, container %s", name, c.Name)
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				p.add("%s: no %s request", where, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				p.add("%s: no %s limit", where, r)
			}
		}
		sc := c.SecurityContext
		switch {
		case sc == nil:
			p.add("%s: no securityContext", where)
		default:
			if !podNonRoot && (sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot) {
				p.add("%s: runAsNonRoot not set", where)
			}
			if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
				p.add("%s: runAsNonRoot false", where)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				p.add("%s: readOnlyRootFilesystem not set", where)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				p.add("%s: allowPrivilegeEscalation not false", where)
			}
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				p.add("%s: mount %s names no volume", where, m.Name)
			}
		}
		for kind, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
			if probe == nil {
				continue
			}
			if _, err := probePort(c, probe); err != nil {
				p.add("%s: %s probe: %v", where, kind, err)
			}
		}
	}
	for i := range pod.Containers {
		c := &pod.Containers[i]
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			p.add("statefulset %s, container %s: needs readiness and liveness probes", name, c.Name)
		}
	}
	if port, ok := ss.Spec.Template.Annotations["prometheus.io/port"]; ok {
		n, err := strconv.Atoi(port)
		if err != nil || !declaresPort(pod.Containers, int32(n), corev1.ProtocolTCP) {
			p.add("statefulset %s: prometheus.io/port %q is not a TCP port a container declares", name, port)
		}
	}
}

// probePort resolves a probe's port against the container's declared
// ports; probes reach TCP only.
func probePort(c *corev1.Container, probe *corev1.Probe) (int32, error) {
	var port intstr.IntOrString
	switch h := probe.ProbeHandler; {
	case h.HTTPGet != nil:
		port = h.HTTPGet.Port
	case h.TCPSocket != nil:
		port = h.TCPSocket.Port
	case h.GRPC != nil:
		port = intstr.FromInt32(h.GRPC.Port)
	default:
		return 0, errors.New("not a network probe")
	}
	cp, ok := containerPort(c, port)
	if !ok {
		return 0, fmt.Errorf("port %s is not declared by the container", port.String())
	}
	if protocol(cp.Protocol) != corev1.ProtocolTCP {
		return 0, fmt.Errorf("port %s is %s, probes use TCP", port.String(), cp.Protocol)
	}
	return cp.ContainerPort, nil
}

func containerPort(c *corev1.Container, port intstr.IntOrString) (corev1.ContainerPort, bool) {
	for _, cp := range c.Ports {
		if (port.Type == intstr.String && cp.Name == port.StrVal) || (port.Type == intstr.Int && cp.ContainerPort == port.IntVal) {
			return cp, true
		}
	}
	return corev1.ContainerPort{}, false
}

func declaresPort(containers []corev1.Container, port int32, proto corev1.Protocol) bool {
	for i := range containers {
		if cp, ok := containerPort(&containers[i], intstr.FromInt32(port)); ok && protocol(cp.Protocol) == proto {
			return true
		}
	}
	return false
}

// protocol applies the API's default, TCP.
func protocol(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkService checks that the Service selects exactly one workload of
// the set and that each port lands on a port its containers declare.
func (s *manifestSet) checkService(p *problems, name string, svc *corev1.Service) {
	var target *appsv1.StatefulSet
	for _, ss := range s.statefulSets {
		if labelsMatch(svc.Spec.Selector, ss.Spec.Template.Labels) {
			if target != nil {
				p.add("service %s: selects more than one workload", name)
				return
			}
			target = ss
		}
	}
	if target == nil {
		p.add("service %s: selects no workload of the manifests", name)
		return
	}
	for _, sp := range svc.Spec.Ports {
		found := false
		for i := range target.Spec.Template.Spec.Containers {
			if cp, ok := containerPort(&target.Spec.Template.Spec.Containers[i], sp.TargetPort); ok && protocol(cp.Protocol) == protocol(sp.Protocol) {
				found = true
			}
		}
		if !found {
			p.add("service %s: port %s targets %s/%s, which %s does not declare", name, sp.Name, sp.TargetPort.String(), protocol(sp.Protocol), target.Name)
		}
	}
	if port, ok := svc.Annotations["prometheus.io/port"]; ok {
		n, err := strconv.Atoi(port)
		if err != nil || !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Port == int32(n) }) {
			p.add("service %s: prometheus.io/port %q is not one of its ports", name, port)
		}
	}
}

// container finds a workload's container by name.
func (s *manifestSet) container(p *problems, workload, name string) (*appsv1.StatefulSet, *corev1.Container) {
	ss := s.statefulSets[workload]
	if ss == nil {
		p.add("statefulset %s missing", workload)
		return nil, nil
	}
	for i := range ss.Spec.Template.Spec.Containers {
		if c := &ss.Spec.Template.Spec.Containers[i]; c.Name == name {
			return ss, c
		}
	}
	p.add("statefulset %s: container %s missing", workload, name)
	return nil, nil
}

// mountOf returns the mount holding path in c (the deepest one) and the
// pod volume behind it (nil for a volume claim template).
func mountOf(ss *appsv1.StatefulSet, c *corev1.Container, path string) (*corev1.VolumeMount, *corev1.Volume) {
	var best *corev1.VolumeMount
	for i := range c.VolumeMounts {
		m := &c.VolumeMounts[i]
		if (path == m.MountPath || strings.HasPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")) && (best == nil || len(m.MountPath) > len(best.MountPath)) {
			best = m
		}
	}
	if best == nil {
		return nil, nil
	}
	for i := range ss.Spec.Template.Spec.Volumes {
		if v := &ss.Spec.Template.Spec.Volumes[i]; v.Name == best.Name {
			return best, v
		}
	}
	return best, nil
}

// onClaim reports whether path is writable on a persistent volume claim
// of the StatefulSet.
func onClaim(ss *appsv1.StatefulSet, c *corev1.Container, path string) bool {
	m, v := mountOf(ss, c, path)
	if m == nil || v != nil || m.ReadOnly {
		return false
	}
	return slices.ContainsFunc(ss.Spec.VolumeClaimTemplates, func(pvc corev1.PersistentVolumeClaim) bool { return pvc.Name == m.Name })
}

func portOf(addr string) (int32, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return int32(n), err
}

// checkNode checks the RiskMesh node against the node.yaml its ConfigMap
// holds, parsed by node/config as the node would.
func (s *manifestSet) checkNode(p *problems) {
	ss, c := s.container(p, nodeName, nodeContainer)
	if c == nil {
		return
	}
	path := flagValue(c.Command, "--config")
	if path == "" {
		p.add("node: command %q has no --config", c.Command)
		return
	}
	m, v := mountOf(ss, c, path)
	if m == nil || v == nil || v.ConfigMap == nil || path != filepath.Join(m.MountPath, nodeConfigKey) {
		p.add("node: --config %s is not %s of a mounted ConfigMap", path, nodeConfigKey)
		return
	}
	cm := s.configMaps[v.ConfigMap.Name]
	if cm == nil || cm.Data[nodeConfigKey] == "" {
		p.add("node: ConfigMap %s has no %s", v.ConfigMap.Name, nodeConfigKey)
		return
	}
	cfg, err := config.Parse([]byte(cm.Data[nodeConfigKey]), m.MountPath)
	if err != nil {
		p.add("node: %s in ConfigMap %s: %v", nodeConfigKey, cm.Name, err)
		return
	}
	for key, dir := range map[string]string{"data_dir": cfg.DataDir, "identity_dir": cfg.IdentityDir} {
		if !onClaim(ss, c, dir) {
			p.add("node: %s %s is not on a writable persistent volume", key, dir)
		}
	}
	if port, err := portOf(cfg.Listen.Peer); err != nil || !declaresPort([]corev1.Container{*c}, port, corev1.ProtocolUDP) {
		p.add("node: listen.peer %s is not a UDP port the container declares", cfg.Listen.Peer)
	}
	switch network, addr := cfg.APINetwork(); network {
	case "unix":
		if !onClaim(ss, c, addr) {
			p.add("node: the API socket %s is not on the writable data volume", addr)
		}
	case "tcp":
		if port, err := portOf(addr); err != nil || !declaresPort([]corev1.Container{*c}, port, corev1.ProtocolTCP) {
			p.add("node: listen.api %s is not a TCP port the container declares", addr)
		}
	}
	s.checkNodeMetrics(p, ss, c, cfg)
	files := []string{}
	if t := cfg.API.TLS; t != nil {
		files = append(files, t.Cert, t.Key, t.ClientCA)
	}
	if f := cfg.Ledger.Fabric; f != nil {
		files = append(files, f.TLSRootCert, f.Certificate, f.PrivateKey)
		s.checkPeerAddress(p, f.PeerAddress)
	}
	for _, f := range files {
		if m, _ := mountOf(ss, c, f); m == nil {
			p.add("node: %s is on no mounted volume", f)
		}
	}
}

// checkNodeMetrics checks that readiness asks /healthz on listen.metrics
// and that the scrape annotation names the same port.
func (s *manifestSet) checkNodeMetrics(p *problems, ss *appsv1.StatefulSet, c *corev1.Container, cfg *config.Config) {
	if cfg.Listen.Metrics == config.Off {
		p.add("node: listen.metrics is off, so nothing answers the probes or the scrape")
		return
	}
	metrics, err := portOf(cfg.Listen.Metrics)
	if err != nil {
		p.add("node: listen.metrics %s: %v", cfg.Listen.Metrics, err)
		return
	}
	if host, _, _ := net.SplitHostPort(cfg.Listen.Metrics); host == "127.0.0.1" || host == "localhost" || host == "::1" {
		p.add("node: listen.metrics %s is loopback: the kubelet's probes cannot reach it", cfg.Listen.Metrics)
	}
	r := c.ReadinessProbe
	if r == nil || r.HTTPGet == nil || r.HTTPGet.Path != healthPath {
		p.add("node: readiness probe is not GET %s", healthPath)
	} else if port, err := probePort(c, r); err != nil || port != metrics {
		p.add("node: readiness probe port is not listen.metrics %s", cfg.Listen.Metrics)
	}
	if ss.Spec.Template.Annotations["prometheus.io/port"] != strconv.Itoa(int(metrics)) {
		p.add("node: prometheus.io/port is not listen.metrics %s", cfg.Listen.Metrics)
	}
}

// checkPeerAddress checks that ledger.fabric.peer_address names the
// Fabric peer's Service and one of its ports.
func (s *manifestSet) checkPeerAddress(p *problems, addr string) {
	host, _, err := net.SplitHostPort(addr)
	port, perr := portOf(addr)
	svc := s.services[host]
	if err != nil || perr != nil || svc == nil || !slices.ContainsFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.Port == port }) {
		p.add("node: ledger.fabric.peer_address %s is not a port of a Service in the manifests", addr)
	}
}

// checkFabricPeer checks the peer's settings against its ports and
// volumes.
func (s *manifestSet) checkFabricPeer(p *problems) {
	ss, c := s.container(p, peerName, peerContainer)
	if c == nil {
		return
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	for _, k := range fabricPeerEnv {
		if env[k] == "" {
			p.add("fabric peer: %s not set", k)
		}
	}
	for _, k := range []string{"CORE_PEER_LISTENADDRESS", "CORE_PEER_CHAINCODELISTENADDRESS", "CORE_OPERATIONS_LISTENADDRESS"} {
		if port, err := portOf(env[k]); err != nil || !declaresPort([]corev1.Container{*c}, port, corev1.ProtocolTCP) {
			p.add("fabric peer: %s %q is not a TCP port the container declares", k, env[k])
		}
	}
	ops, _ := portOf(env["CORE_OPERATIONS_LISTENADDRESS"])
	for kind, probe := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != healthPath {
			p.add("fabric peer: %s probe is not GET %s", kind, healthPath)
		} else if port, err := probePort(c, probe); err != nil || port != ops {
			p.add("fabric peer: %s probe is not on the operations port", kind)
		}
	}
	for _, k := range []string{"CORE_PEER_FILESYSTEMPATH", "CORE_LEDGER_SNAPSHOTS_ROOTDIR"} {
		if !onClaim(ss, c, env[k]) {
			p.add("fabric peer: %s %q is not on a writable persistent volume", k, env[k])
		}
	}
	if m, v := mountOf(ss, c, env["CORE_PEER_MSPCONFIGPATH"]); m == nil || m.MountPath != env["CORE_PEER_MSPCONFIGPATH"] || v == nil || (v.Secret == nil && v.Projected == nil) {
		p.add("fabric peer: CORE_PEER_MSPCONFIGPATH is not a mounted Secret")
	}
	if m, v := mountOf(ss, c, env["FABRIC_CFG_PATH"]); m == nil || m.MountPath != env["FABRIC_CFG_PATH"] || v == nil || v.ConfigMap == nil {
		p.add("fabric peer: FABRIC_CFG_PATH is not a mounted ConfigMap (core.yaml)")
	}
	for _, k := range []string{"CORE_PEER_TLS_CERT_FILE", "CORE_PEER_TLS_KEY_FILE", "CORE_PEER_TLS_ROOTCERT_FILE"} {
		if m, v := mountOf(ss, c, env[k]); m == nil || v == nil || v.Secret == nil {
			p.add("fabric peer: %s is not in a mounted Secret", k)
		}
	}
}

// flagValue returns the value after flag in args, or "".
func flagValue(args []string, flag string) string {
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

func TestKubernetesManifests(t *testing.T) {
	s := loadManifests(t)
	for _, want := range []string{nodeName, peerName} {
		if s.statefulSets[want] == nil {
			t.Errorf("statefulset %s missing", want)
		}
	}
	if len(s.policies) == 0 {
		t.Error("no NetworkPolicy: the metrics listener is plain HTTP")
	}
	for _, err := range s.check() {
		t.Error(err)
	}
}

// TestKubernetesChecksCatch breaks the manifests one way at a time and
// expects the check to say so: a check that cannot fail proves nothing.
func TestKubernetesChecksCatch(t *testing.T) {
	node := func(s *manifestSet) *corev1.Container {
		return &s.statefulSets[nodeName].Spec.Template.Spec.Containers[0]
	}
	peer := func(s *manifestSet) *corev1.Container {
		return &s.statefulSets[peerName].Spec.Template.Spec.Containers[0]
	}
	setEnv := func(c *corev1.Container, name, value string) {
		for i := range c.Env {
			if c.Env[i].Name == name {
				c.Env[i].Value = value
			}
		}
	}
	editNodeYAML := func(s *manifestSet, old, new string) {
		cm := s.configMaps[nodeName]
		if !strings.Contains(cm.Data[nodeConfigKey], old) {
			t.Fatalf("node.yaml has no %q", old)
		}
		cm.Data[nodeConfigKey] = strings.Replace(cm.Data[nodeConfigKey], old, new, 1)
	}
	cases := []struct {
		name   string
		break_ func(s *manifestSet)
		want   string
	}{
		{"probe on an undeclared port", func(s *manifestSet) {
			node(s).ReadinessProbe.HTTPGet.Port = intstr.FromString("healthz")
		}, "not declared"},
		{"probe on the UDP port", func(s *manifestSet) {
			node(s).LivenessProbe.TCPSocket.Port = intstr.FromString("peer")
		}, "probes use TCP"},
		{"data volume elsewhere", func(s *manifestSet) {
			node(s).VolumeMounts[0].MountPath = "/data"
		}, "data_dir /var/lib/riskmesh is not on a writable persistent volume"},
		{"data volume read-only", func(s *manifestSet) {
			node(s).VolumeMounts[0].ReadOnly = true
		}, "not on a writable persistent volume"},
		{"unknown node.yaml key", func(s *manifestSet) {
			editNodeYAML(s, "data_dir:", "data_dri: x\ndata_dir:")
		}, "data_dri"},
		{"metrics on another port", func(s *manifestSet) {
			editNodeYAML(s, "metrics: 0.0.0.0:9400", "metrics: 0.0.0.0:9401")
		}, "readiness probe port is not listen.metrics"},
		{"metrics on loopback", func(s *manifestSet) {
			editNodeYAML(s, "metrics: 0.0.0.0:9400", "metrics: 127.0.0.1:9400")
		}, "loopback"},
		{"peer port not UDP", func(s *manifestSet) {
			node(s).Ports[0].Protocol = corev1.ProtocolTCP
		}, "listen.peer 0.0.0.0:7400 is not a UDP port"},
		{"no memory limit", func(s *manifestSet) {
			delete(node(s).Resources.Limits, corev1.ResourceMemory)
		}, "no memory limit"},
		{"writable root", func(s *manifestSet) {
			node(s).SecurityContext.ReadOnlyRootFilesystem = nil
		}, "readOnlyRootFilesystem"},
		{"root allowed", func(s *manifestSet) {
			s.statefulSets[nodeName].Spec.Template.Spec.SecurityContext.RunAsNonRoot = nil
			node(s).SecurityContext.RunAsNonRoot = nil
		}, "runAsNonRoot not set"},
		{"service target missing", func(s *manifestSet) {
			s.services[nodeName].Spec.Ports[0].TargetPort = intstr.FromString("prom")
		}, "does not declare"},
		{"gateway address wrong", func(s *manifestSet) {
			editNodeYAML(s, "peer_address: fabric-peer:7051", "peer_address: fabric-peer:7050")
		}, "peer_address"},
		{"peer ledger off the volume", func(s *manifestSet) {
			setEnv(peer(s), "CORE_PEER_FILESYSTEMPATH", "/tmp/production")
		}, "CORE_PEER_FILESYSTEMPATH"},
		{"peer operations port moved", func(s *manifestSet) {
			setEnv(peer(s), "CORE_OPERATIONS_LISTENADDRESS", "0.0.0.0:9444")
		}, "CORE_OPERATIONS_LISTENADDRESS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := loadManifests(t)
			tc.break_(s)
			var all bytes.Buffer
			for _, err := range s.check() {
				fmt.Fprintln(&all, err)
			}
			if !strings.Contains(all.String(), tc.want) {
				t.Fatalf("want a problem containing %q, got:\n%s", tc.want, all.String())
			}
		})
	}
}

func TestDecodeObjectIsStrict(t *testing.T) {
	for name, doc := range map[string]string{
		"misspelt field":  "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  selektor: {a: b}\n",
		"duplicate field": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n",
		"wrong group":     "apiVersion: v1\nkind: StatefulSet\nmetadata: {name: x}\n",
		"unchecked kind":  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n",
	} {
		if _, err := decodeObject([]byte(doc)); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := decodeObject([]byte("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  selector: {a: b}\n")); err != nil {
		t.Errorf("a valid Service: %v", err)
	}
}
