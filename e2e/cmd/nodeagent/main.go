// Command nodeagent is the node of the local environment (see package nodeagent). It needs
// root: it creates network namespaces, veth pairs and a bridge.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/khulnasoft/gateway/e2e/nodeagent"
)

// imageFlags collects repeated --image REPOSITORY=BINARY flags.
type imageFlags map[string]string

func (f imageFlags) String() string { return fmt.Sprint(map[string]string(f)) }

func (f imageFlags) Set(s string) error {
	repo, bin, ok := strings.Cut(s, "=")
	if !ok || repo == "" || bin == "" {
		return fmt.Errorf("want REPOSITORY=BINARY, got %q", s)
	}
	f[repo] = bin
	return nil
}

func main() {
	if len(os.Args) > 2 && os.Args[1] == nodeagent.SandboxExecCommand {
		err := nodeagent.RunSandboxExec(os.Args[2])
		fmt.Fprintf(os.Stderr, "nodeagent: %v\n", err)
		os.Exit(127)
	}
	var (
		kubeconfig = flag.String("kubeconfig", "", "kubeconfig of the cluster to serve")
		nodeName   = flag.String("node-name", "kengine-dev", "name of the Node to register")
		subnet     = flag.String("pod-subnet", "10.244.0.0/24", "pod subnet; the bridge takes its first address")
		bridge     = flag.String("bridge", "kgw0", "name of the pod bridge")
		prefix     = flag.String("name-prefix", "kgw-", "prefix of every network namespace and veth this agent creates")
		lbRange    = flag.String("lb-range", "127.0.100.0/24", "loopback range for LoadBalancer Services")
		binDir     = flag.String("bin-dir", "", "directory with the kengine and echo-basic binaries")
		stateDir   = flag.String("state-dir", "", "directory for pod volumes, logs and scratch space")
		pidDir     = flag.String("pid-dir", "", "directory for container PID files")
		inCluster  = flag.Bool("in-cluster-api", true, "relay the API server to pods on the bridge address and give containers KUBERNETES_SERVICE_HOST/PORT, as kubelet does")
		images     = imageFlags{}
	)
	flag.Var(images, "image", "extra image mapping REPOSITORY=BINARY (repeatable)")
	klog.InitFlags(nil)
	flag.Parse()

	if err := run(*kubeconfig, *nodeName, *subnet, *bridge, *prefix, *lbRange, *binDir, *stateDir, *pidDir, *inCluster, images); err != nil {
		klog.Background().Error(err, "Node agent failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

func run(kubeconfig, nodeName, subnet, bridge, prefix, lbRange, binDir, stateDir, pidDir string, inCluster bool, extra imageFlags) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the node agent needs root to create network namespaces")
	}
	if binDir == "" || stateDir == "" || pidDir == "" {
		return fmt.Errorf("--bin-dir, --state-dir and --pid-dir are required")
	}
	// Pods start in their working directory, not ours: every path must be absolute.
	for _, p := range []*string{&binDir, &stateDir, &pidDir} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		*p = abs
	}
	podSubnet, err := netip.ParsePrefix(subnet)
	if err != nil || !podSubnet.Addr().Is4() {
		return fmt.Errorf("--pod-subnet %q: want an IPv4 prefix", subnet)
	}
	lb, err := netip.ParsePrefix(lbRange)
	if err != nil || !lb.Addr().IsLoopback() {
		return fmt.Errorf("--lb-range %q: want a loopback prefix", lbRange)
	}
	table := nodeagent.DefaultImages(binDir)
	for repo, bin := range extra {
		table[repo] = nodeagent.Image{Binary: bin}
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	var apiServer string
	if inCluster {
		u, err := url.Parse(cfg.Host)
		if err != nil || u.Port() == "" {
			return fmt.Errorf("--in-cluster-api: the kubeconfig's server %q has no host:port", cfg.Host)
		}
		apiServer = u.Host
	}
	cfg.UserAgent = "nodeagent"
	cfg.QPS, cfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	agent, err := nodeagent.New(nodeagent.Config{
		NodeName:          nodeName,
		Network:           nodeagent.NetworkConfig{Subnet: podSubnet.Masked(), Bridge: bridge, Prefix: prefix},
		LoadBalancerRange: lb.Masked(),
		Images:            table,
		StateDir:          stateDir,
		PIDDir:            pidDir,
		APIServer:         apiServer,
	}, client)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx = klog.NewContext(ctx, klog.Background())
	return agent.Run(ctx)
}
