package nodeagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Network owns the pod network of this node: one bridge holding the first address of the pod
// subnet, and for every pod a network namespace joined to the bridge by a veth pair. Pod
// namespaces get the subnet route only, no default route, so nothing a pod runs can reach
// beyond this node's own pod subnet ("network unreachable" for any other destination).
//
// Names carry a fixed prefix so that a cleanup finds everything this node made and nothing else.
type Network struct {
	// Subnet is the pod subnet, for example 10.244.0.0/24; the bridge takes its first address.
	Subnet netip.Prefix
	// Bridge is the bridge interface name.
	Bridge string
	// Prefix starts every network namespace and host-side veth name this network creates.
	Prefix string

	mu   sync.Mutex
	used map[netip.Addr]string // pod IP → namespace name
	last netip.Addr            // the address handed out last
}

// GatewayIP is the bridge's address: the node's address on the pod network.
func (n *Network) GatewayIP() netip.Addr { return n.Subnet.Masked().Addr().Next() }

func ip(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

func ipOutput(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", args...).Output()
	if err != nil {
		return "", fmt.Errorf("ip %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// CheckSubnet fails when a route of this machine already covers or overlaps the pod subnet
// (other than the bridge's own), because pods would then shadow real addresses.
func (n *Network) CheckSubnet(ctx context.Context) error {
	out, err := ipOutput(ctx, "-4", "route", "show", "table", "all")
	if err != nil {
		return err
	}
	for line := range strings.Lines(out) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		dst := fields[0]
		if dst == "local" || dst == "broadcast" || dst == "unreachable" || dst == "blackhole" {
			if len(fields) < 2 {
				continue
			}
			dst = fields[1]
		}
		if dst == "default" || strings.Contains(line, "dev "+n.Bridge+" ") || strings.HasSuffix(strings.TrimSpace(line), "dev "+n.Bridge) {
			continue
		}
		if !strings.Contains(dst, "/") {
			dst += "/32"
		}
		p, err := netip.ParsePrefix(dst)
		if err != nil {
			continue
		}
		if p.Overlaps(n.Subnet) {
			return fmt.Errorf("pod subnet %s overlaps this machine's route %q; choose another with --pod-subnet", n.Subnet, strings.TrimSpace(line))
		}
	}
	return nil
}

// Setup creates the bridge (idempotently) and removes what an earlier run of this node left.
func (n *Network) Setup(ctx context.Context) error {
	n.mu.Lock()
	n.used = map[netip.Addr]string{}
	n.mu.Unlock()
	if err := n.CheckSubnet(ctx); err != nil {
		return err
	}
	if err := n.Cleanup(ctx); err != nil {
		return err
	}
	if err := ip(ctx, "link", "add", n.Bridge, "type", "bridge"); err != nil {
		return err
	}
	gw := netip.PrefixFrom(n.GatewayIP(), n.Subnet.Bits())
	if err := ip(ctx, "addr", "add", gw.String(), "dev", n.Bridge); err != nil {
		return err
	}
	return ip(ctx, "link", "set", n.Bridge, "up")
}

// Cleanup deletes every network namespace and link with this network's prefix, and the bridge.
func (n *Network) Cleanup(ctx context.Context) error {
	return CleanupNetwork(ctx, n.Prefix, n.Bridge)
}

// CleanupNetwork deletes the network namespaces and host links whose names start with prefix,
// and the bridge. It is what make dev-down runs even when the node agent is gone.
func CleanupNetwork(ctx context.Context, prefix, bridge string) error {
	var errs []error
	if entries, err := os.ReadDir("/run/netns"); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				if err := ip(ctx, "netns", "delete", e.Name()); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	out, err := ipOutput(ctx, "-o", "link", "show")
	if err != nil {
		return err
	}
	for line := range strings.Lines(out) {
		// "12: kgwv1a2b3c4d@if2: <...>"
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(fields[1], ":"), "@")
		if name == bridge || strings.HasPrefix(name, prefix) {
			// A veth goes away by itself shortly after its peer's namespace is deleted.
			if err := ip(ctx, "link", "delete", name); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleaning up the pod network: %v", errs)
	}
	return nil
}

// Sandbox is a pod's network: its namespace and address.
type Sandbox struct {
	// Netns is the namespace name; its handle is /run/netns/<Netns>.
	Netns string
	// IP is the pod's address on the bridge.
	IP netip.Addr
}

// NetnsPath is the file that names the sandbox's network namespace.
func (s Sandbox) NetnsPath() string { return "/run/netns/" + s.Netns }

// AddPod creates a network namespace for the pod with the given UID and joins it to the bridge.
func (n *Network) AddPod(ctx context.Context, uid string) (Sandbox, error) {
	id := strings.ReplaceAll(uid, "-", "")
	// Interface names are at most 15 bytes: the prefix and as much of the UID as fits.
	hostLink := n.Prefix + id
	if len(hostLink) > 15 {
		hostLink = hostLink[:15]
	}
	sb := Sandbox{Netns: n.Prefix + uid}

	n.mu.Lock()
	sb.IP = n.nextFree()
	if sb.IP.IsValid() {
		n.used[sb.IP] = sb.Netns
		n.last = sb.IP
	}
	n.mu.Unlock()
	if !sb.IP.IsValid() {
		return Sandbox{}, fmt.Errorf("pod subnet %s is full", n.Subnet)
	}
	fail := func(err error) (Sandbox, error) {
		n.RemovePod(context.WithoutCancel(ctx), sb)
		return Sandbox{}, err
	}
	steps := [][]string{
		{"netns", "add", sb.Netns},
		{"link", "add", hostLink, "type", "veth", "peer", "name", "eth0", "netns", sb.Netns},
		{"link", "set", hostLink, "master", n.Bridge},
		{"link", "set", hostLink, "up"},
		{"-n", sb.Netns, "addr", "add", netip.PrefixFrom(sb.IP, n.Subnet.Bits()).String(), "dev", "eth0"},
		{"-n", sb.Netns, "link", "set", "lo", "up"},
		{"-n", sb.Netns, "link", "set", "eth0", "up"},
	}
	for _, s := range steps {
		if err := ip(ctx, s...); err != nil {
			return fail(err)
		}
	}
	return sb, nil
}

// nextFree returns the first free pod address after the one handed out last, wrapping around,
// so that an address freed by a deleted pod is reused as late as possible (as host-local IPAM
// does): endpoints that still name it then rarely reach a different pod. n.mu is held.
func (n *Network) nextFree() netip.Addr {
	first := n.GatewayIP().Next()
	usable := func(a netip.Addr) bool { return n.Subnet.Contains(a) && n.Subnet.Contains(a.Next()) }
	start := first
	if n.last.IsValid() && usable(n.last.Next()) {
		start = n.last.Next()
	}
	a := start
	for {
		if _, taken := n.used[a]; !taken {
			return a
		}
		a = a.Next()
		if !usable(a) {
			a = first
		}
		if a == start {
			return netip.Addr{}
		}
	}
}

// RemovePod deletes the pod's namespace (which deletes its veth pair) and frees its address.
func (n *Network) RemovePod(ctx context.Context, sb Sandbox) {
	if _, err := os.Stat(sb.NetnsPath()); err == nil {
		_ = ip(ctx, "netns", "delete", sb.Netns)
	}
	n.mu.Lock()
	if n.used[sb.IP] == sb.Netns {
		delete(n.used, sb.IP)
	}
	n.mu.Unlock()
}

// RemoveRunNetns undoes what "ip netns add" does to a machine that had no /run/netns: it
// creates the directory and bind-mounts it on itself. Once no namespace is left in it, this
// unmounts and removes it. Callers use it only when they saw /run/netns missing beforehand.
func RemoveRunNetns() error {
	entries, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		// Someone else's namespaces live there now: leave it.
		return nil
	}
	for mounted() {
		if err := unix.Unmount("/run/netns", unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmounting /run/netns: %w", err)
		}
	}
	if err := os.Remove("/run/netns"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

func mounted() bool {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for line := range strings.Lines(string(data)) {
		if f := strings.Fields(line); len(f) > 4 && f[4] == "/run/netns" {
			return true
		}
	}
	return false
}
