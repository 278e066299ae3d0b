// Package devenv brings the local environment up and down: etcd, kube-apiserver and
// kube-controller-manager on loopback, the node agent, the Gateway API CRDs, and (when it is
// built) the controller with the example applied. Every process it starts is recorded in a PID
// file under .dev/pids, and Down stops exactly those and removes every network namespace, link
// and bridge the node agent made.
package devenv

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Fixed addresses of the environment. Everything listens on loopback only.
const (
	etcdClientURL    = "http://127.0.0.1:12379"
	etcdPeerURL      = "http://127.0.0.1:12380"
	apiServerPort    = 6443
	kcmPort          = 10257
	serviceCIDR      = "10.96.0.0/16"
	serviceClusterIP = "10.96.0.1"
	// PodSubnet is the pod network; it exists only on the environment's bridge.
	PodSubnet = "10.244.0.0/24"
	// nodePodIP is the node's address on the pod network (the bridge holds the subnet's first
	// address), where the node agent relays the API server to pods in place of the kubernetes
	// Service.
	nodePodIP = "10.244.0.1"
	// Bridge is the pod bridge's interface name.
	Bridge = "kgw0"
	// NamePrefix starts every network namespace and veth the node agent creates.
	NamePrefix = "kgw-"
	// LoadBalancerRange holds the addresses LoadBalancer Services get.
	LoadBalancerRange = "127.0.100.0/24"
	// NodeName is the one Node of the environment.
	NodeName = "kengine-dev"
	// GatewayAPIVersion is the version of the Gateway API CRDs installed.
	GatewayAPIVersion = "v1.6.3"
)

// Env locates the environment's files: the repository root and its .dev directory.
type Env struct {
	// Root is the repository root (the directory holding e2e/).
	Root string
	// Dev is the state directory, Root/.dev unless overridden.
	Dev string
	// Out receives progress messages.
	Out *os.File
}

// NewEnv returns the environment rooted at root.
func NewEnv(root string) *Env {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return &Env{Root: root, Dev: filepath.Join(root, ".dev"), Out: os.Stdout}
}

func (e *Env) bin(name string) string  { return filepath.Join(e.Dev, "bin", name) }
func (e *Env) pkiDir() string          { return filepath.Join(e.Dev, "pki") }
func (e *Env) pidFile(n string) string { return filepath.Join(e.Dev, "pids", n+".pid") }
func (e *Env) logFile(n string) string { return filepath.Join(e.Dev, "logs", n+".log") }
func (e *Env) podPIDDir() string       { return filepath.Join(e.Dev, "pids", "pods") }
func (e *Env) stateDir() string        { return filepath.Join(e.Dev, "state") }

// Kubeconfig is the admin kubeconfig of the environment.
func (e *Env) Kubeconfig() string { return filepath.Join(e.Dev, "kubeconfig") }

// APIServerURL is where kube-apiserver serves.
func (e *Env) APIServerURL() string { return fmt.Sprintf("https://127.0.0.1:%d", apiServerPort) }

// ControllerBinary is where the root Makefile builds the controller.
func (e *Env) ControllerBinary() string { return filepath.Join(e.Root, "bin", "kengine-gateway") }

func (e *Env) printf(format string, args ...any) {
	fmt.Fprintf(e.Out, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
