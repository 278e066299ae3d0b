package nodeagent

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestContainerUser(t *testing.T) {
	for _, tc := range []struct {
		name string
		pod  *v1.PodSecurityContext
		ctr  *v1.SecurityContext
		want *SandboxUser
		err  bool
	}{
		{name: "nothing set keeps root", want: nil},
		{
			name: "pod user, group and fsGroup (the managed Kengine pod)",
			pod:  &v1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532), RunAsGroup: ptr.To[int64](65532), FSGroup: ptr.To[int64](65532)},
			want: &SandboxUser{UID: 65532, GID: 65532, Groups: []int64{65532}},
		},
		{
			name: "container settings win",
			pod:  &v1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](1000), SupplementalGroups: []int64{5, 6}, FSGroup: ptr.To[int64](5)},
			ctr:  &v1.SecurityContext{RunAsUser: ptr.To[int64](2000), RunAsGroup: ptr.To[int64](3000)},
			want: &SandboxUser{UID: 2000, GID: 3000, Groups: []int64{5, 6}},
		},
		{
			name: "user without group gets group 0",
			ctr:  &v1.SecurityContext{RunAsUser: ptr.To[int64](1000)},
			want: &SandboxUser{UID: 1000},
		},
		{
			name: "fsGroup alone: root with a supplementary group",
			pod:  &v1.PodSecurityContext{FSGroup: ptr.To[int64](2000)},
			want: &SandboxUser{Groups: []int64{2000}},
		},
		{name: "runAsNonRoot without a user", pod: &v1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}, err: true},
		{name: "runAsNonRoot with user 0", ctr: &v1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](0)}, err: true},
		{
			name: "container lifts the pod's runAsNonRoot",
			pod:  &v1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			ctr:  &v1.SecurityContext{RunAsNonRoot: ptr.To(false)},
			want: nil,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1.PodSpec{SecurityContext: tc.pod}}
			c := &v1.Container{Name: "c", SecurityContext: tc.ctr}
			got, err := containerUser(pod, c)
			var asRoot errRunAsRoot
			if tc.err != errors.As(err, &asRoot) {
				t.Fatalf("error = %v, want error: %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("containerUser (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPodSysctls(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  map[string]string
		err   bool
	}{
		{names: []string{"net.ipv4.ip_unprivileged_port_start"}, want: map[string]string{"net/ipv4/ip_unprivileged_port_start": "v"}},
		{names: []string{"net/ipv4/ip_local_port_range"}, want: map[string]string{"net/ipv4/ip_local_port_range": "v"}},
		{names: []string{"net.ipv4.conf.eth0/100.rp_filter"}, want: map[string]string{"net/ipv4/conf/eth0.100/rp_filter": "v"}},
		{names: []string{"kernel.shm_rmid_forced"}, err: true},
		{names: []string{"net/../kernel/hostname"}, err: true},
		{names: []string{"net"}, err: true},
	} {
		t.Run(strings.Join(tc.names, ","), func(t *testing.T) {
			psc := &v1.PodSecurityContext{}
			for _, n := range tc.names {
				psc.Sysctls = append(psc.Sysctls, v1.Sysctl{Name: n, Value: "v"})
			}
			got, err := podSysctls(&v1.Pod{Spec: v1.PodSpec{SecurityContext: psc}})
			if (err != nil) != tc.err {
				t.Fatalf("error = %v, want error: %v", err, tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("podSysctls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSyncDirGroup checks the fsGroup ownership of a generated volume: every file and directory
// belongs to the group, directories carry setgid, and a changed group is repaired.
func TestSyncDirGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another group")
	}
	dir := filepath.Join(t.TempDir(), "vol")
	files := map[string]file{"key": {data: []byte("k"), mode: 0o440}, "sub/crt": {data: []byte("c"), mode: 0o644}}
	for round := 0; round < 2; round++ {
		if err := syncDir(dir, files, 65532); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"", "sub", "key", "sub/crt"} {
			st, err := os.Stat(filepath.Join(dir, p))
			if err != nil {
				t.Fatal(err)
			}
			if g := fileGID(st); g != 65532 {
				t.Errorf("round %d: %q has group %d, want 65532", round, p, g)
			}
			if st.IsDir() && st.Mode()&os.ModeSetgid == 0 {
				t.Errorf("round %d: directory %q lacks setgid", round, p)
			}
		}
		// Someone changes the group: the next sync gives the file back.
		if err := os.Lchown(filepath.Join(dir, "key"), -1, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// TestChownTree gives an emptyDir that root filled (before its pod ran as another user) to the
// fsGroup, as kubelet does when it mounts a volume.
func TestChownTree(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give files to another group")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "caddy"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "caddy", "autosave.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := chownTree(dir, 65532); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{"caddy": 0o770 | os.ModeSetgid | os.ModeDir, "caddy/autosave.json": 0o660} {
		st, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want || fileGID(st) != 65532 {
			t.Errorf("%s: mode %v group %d, want %v group 65532", p, st.Mode(), fileGID(st), want)
		}
	}
}

// TestSandboxExecAsUser starts a program in a pod sandbox the way the managed Kengine pod
// asks: as uid/gid 65532 with fsGroup 65532 and net.ipv4.ip_unprivileged_port_start=0. The
// program must run with exactly those ids, read a 0440 file of its fsGroup, bind port 80
// without any capability, and be refused a root-only file.
func TestSandboxExecAsUser(t *testing.T) {
	needRoot(t)
	sb := testSandbox(t, "10.253.78.0/29", "kgwtest1", "kgwtestu-", "0000-user")
	if err := applySysctls(sb.NetnsPath(), map[string]string{"net/ipv4/ip_unprivileged_port_start": "0"}); err != nil {
		t.Fatal(err)
	}
	host, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(host)) == "0" {
		t.Log("this host already lets anyone bind low ports; the bind check proves less")
	}

	// A directory only root may search: the binary below it must still start (it is opened
	// before the user changes), as a checkout under /root must.
	dir := filepath.Join(t.TempDir(), "private")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(dir, "vol")
	if err := syncDir(vol, map[string]file{"secret": {data: []byte("s3cret"), mode: 0o440}}, 65532); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "root-only"), []byte("no"), 0o600); err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	prog := filepath.Join(dir, "helper")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prog, data, 0o755); err != nil {
		t.Fatal(err)
	}
	scratch := filepath.Join(dir, "scratch")
	if err := os.MkdirAll(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	spec := SandboxSpec{
		NetnsPath: sb.NetnsPath(), Hostname: "pod-u", ScratchDir: scratch, WorkingDir: "/",
		Mounts: []SandboxMount{
			{Source: vol, Target: "/etc/kgwtest-admin", ReadOnly: true},
			{Source: filepath.Join(dir, "root-only"), Target: "/etc/kgwtest-root-only"},
		},
		Argv:       []string{prog, userHelperCommand, "/etc/kgwtest-admin/secret", "/etc/kgwtest-root-only"},
		Env:        []string{"PATH=/usr/bin:/bin"},
		User:       &SandboxUser{UID: 65532, GID: 65532, Groups: []int64{65532}},
		NoNewPrivs: true,
	}
	specData, _ := json.Marshal(spec)
	specPath := filepath.Join(dir, "spec.json")
	if err := os.WriteFile(specPath, specData, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(self, SandboxExecCommand, specPath).CombinedOutput()
	if err != nil {
		t.Fatalf("sandbox: %v\n%s", err, out)
	}
	want := strings.Join([]string{
		"uid=65532 gid=65532 groups=[65532]", "read s3cret", "root-only: permission denied", "bound :80", "bound :443", "no_new_privs=1",
	}, "\n") + "\n"
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("the program saw (-want +got):\n%s", diff)
	}
}

// userHelperCommand makes the test binary report what a container process can do.
const userHelperCommand = "user-helper"

// runUserHelper prints the process's ids, reads the first file, fails to read the second,
// binds the low ports of a Kengine listener and shows no_new_privs.
func runUserHelper(args []string) {
	groups, _ := syscall.Getgroups()
	fmt.Printf("uid=%d gid=%d groups=%v\n", os.Getuid(), os.Getgid(), groups)
	if b, err := os.ReadFile(args[0]); err != nil {
		fmt.Println("read:", err)
	} else {
		fmt.Println("read", string(b))
	}
	if _, err := os.ReadFile(args[1]); errors.Is(err, os.ErrPermission) {
		fmt.Println("root-only: permission denied")
	} else {
		fmt.Println("root-only:", err)
	}
	for _, addr := range []string{":80", ":443"} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Println("bind:", err)
			continue
		}
		l.Close()
		fmt.Println("bound", addr)
	}
	status, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "NoNewPrivs:"); ok {
			fmt.Printf("no_new_privs=%s\n", strings.TrimSpace(v))
		}
	}
}
