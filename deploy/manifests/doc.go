// Package manifests holds no code: its tests check the packaging an
// institution installs, deploy/kubernetes and deploy/systemd, in CI.
//
// Every Kubernetes manifest is decoded strictly into the Kubernetes API
// types (an unknown or misspelt field fails, as the API server would
// refuse it) and checked for the mistakes that only show on a cluster:
// probes on ports the container does not declare, Services pointing at
// missing ports, the node's data directory off the persistent volume, a
// node.yaml that node/config refuses, containers without limits or running
// as root. The systemd units are checked for their hardening and for paths
// that agree with the node.yaml installed beside them. The flags the
// units and manifests pass to riskmesh are checked against the real
// command in cmd/riskmesh (packaging_test.go there).
package manifests
