package nodeagent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary doubles as the sandbox-exec child, as the node agent's binary does.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == SandboxExecCommand {
		err := RunSandboxExec(os.Args[2])
		fmt.Fprintln(os.Stderr, err)
		os.Exit(127)
	}
	if len(os.Args) > 1 && os.Args[1] == userHelperCommand {
		runUserHelper(os.Args[2:])
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network and mount namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip command")
	}
}

// TestSandboxExec runs a shell inside a pod sandbox and checks what it sees: its own address
// and no default route, its hostname, and volumes mounted at paths that do not exist on the
// host, which must stay untouched.
func TestSandboxExec(t *testing.T) {
	needRoot(t)
	sb := testSandbox(t, "10.253.77.0/29", "kgwtest0", "kgwtest-", "0000-test")

	dir := t.TempDir()
	vol := filepath.Join(dir, "vol")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "config.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	scratch := filepath.Join(dir, "scratch")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	// Paths that exist nowhere on the host: one under /etc, one at the root, one deep.
	targets := []string{"/etc/kgwtest-config", "/kgwtest-root", "/var/lib/kgwtest/deep/dir"}
	for _, p := range targets {
		if _, err := os.Stat(p); err == nil {
			t.Skipf("%s exists on this host", p)
		}
	}
	var mounts []SandboxMount
	for _, p := range targets {
		mounts = append(mounts, SandboxMount{Source: vol, Target: p, ReadOnly: true})
	}
	mounts = append(mounts, SandboxMount{Source: filepath.Join(vol, "config.json"), Target: "/etc/kgwtest-single.json"})
	script := `set -e
hostname
ip -4 -o addr show eth0 | awk '{print $4}'
ip route | grep -c default || true
for p in /etc/kgwtest-config /kgwtest-root /var/lib/kgwtest/deep/dir; do cat $p/config.json; echo; done
cat /etc/kgwtest-single.json; echo
test -f /etc/hostname && echo etc-intact
touch /etc/kgwtest-config/x 2>/dev/null && echo writable || echo read-only
echo "$GREETING"`
	spec := SandboxSpec{
		NetnsPath: sb.NetnsPath(), Hostname: "pod-a", ScratchDir: scratch, Mounts: mounts,
		WorkingDir: "/", Argv: []string{"/bin/sh", "-c", script}, Env: []string{"GREETING=hello", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
	}
	data, _ := json.Marshal(spec)
	specPath := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(specPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	out, err := exec.Command(self, SandboxExecCommand, specPath).CombinedOutput()
	if err != nil {
		t.Fatalf("sandbox: %v\n%s", err, out)
	}
	want := strings.Join([]string{
		"pod-a", sb.IP.String() + "/29", "0", "{}", "{}", "{}", "{}", "etc-intact", "read-only", "hello",
	}, "\n") + "\n"
	if string(out) != want {
		t.Errorf("sandbox saw:\n%s\nwant:\n%s", out, want)
	}
	for _, p := range append(targets, "/etc/kgwtest-single.json", "/var/lib/kgwtest") {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s was created on the host", p)
		}
	}
}

// testSandbox sets up a test network on its own bridge and subnet with one pod sandbox, and
// removes both (and /run/netns if the test created it) when the test ends.
func testSandbox(t *testing.T, subnet, bridge, prefix, pod string) Sandbox {
	t.Helper()
	ctx := context.Background()
	if _, err := os.Stat("/run/netns"); os.IsNotExist(err) {
		t.Cleanup(func() {
			if err := RemoveRunNetns(); err != nil {
				t.Error(err)
			}
		})
	}
	n := &Network{Subnet: netip.MustParsePrefix(subnet), Bridge: bridge, Prefix: prefix}
	if err := n.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Cleanup(context.Background()); err != nil {
			t.Error(err)
		}
	})
	sb, err := n.AddPod(ctx, pod)
	if err != nil {
		t.Fatal(err)
	}
	return sb
}
