package nodeagent

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
)

// SandboxUser is the identity a container's process runs as.
type SandboxUser struct {
	UID    int64   `json:"uid"`
	GID    int64   `json:"gid"`
	Groups []int64 `json:"groups,omitempty"`
}

// errRunAsRoot is the container-config error kubelet reports for runAsNonRoot without a user.
type errRunAsRoot struct{ pod, container string }

func (e errRunAsRoot) Error() string {
	return fmt.Sprintf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", e.pod, e.container)
}

// containerUser resolves who a container runs as from the pod's and the container's
// securityContext, as kubelet and the container runtime do: the container's settings win; an
// unset user is the image's, which is root for every image here; an unset group is 0 (no image
// here lists its user in /etc/passwd); fsGroup and supplementalGroups become supplementary
// groups. It returns nil when nothing is set: the process keeps the node agent's identity.
func containerUser(pod *v1.Pod, c *v1.Container) (*SandboxUser, error) {
	var uid, gid *int64
	var nonRoot *bool
	var groups []int64
	if psc := pod.Spec.SecurityContext; psc != nil {
		uid, gid, nonRoot = psc.RunAsUser, psc.RunAsGroup, psc.RunAsNonRoot
		groups = append(groups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			groups = append(groups, *psc.FSGroup)
		}
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
	}
	if nonRoot != nil && *nonRoot && (uid == nil || *uid == 0) {
		return nil, errRunAsRoot{pod: pod.Name, container: c.Name}
	}
	if uid == nil && gid == nil && len(groups) == 0 {
		return nil, nil
	}
	u := &SandboxUser{}
	if uid != nil {
		u.UID = *uid
	}
	if gid != nil {
		u.GID = *gid
	}
	seen := map[int64]bool{}
	for _, g := range groups {
		if !seen[g] {
			seen[g] = true
			u.Groups = append(u.Groups, g)
		}
	}
	return u, nil
}

// noNewPrivs reports whether the container asks for no privilege escalation.
func noNewPrivs(c *v1.Container) bool {
	sc := c.SecurityContext
	return sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation
}

// podSysctls returns the pod's sysctls as paths under /proc/sys with their values. Only
// sysctls of the pod's own network namespace (net.*) can be set: the pod shares every other
// namespace (IPC, UTS for the kernel.* keys) with this machine, so anything else is refused
// rather than changing the host.
func podSysctls(pod *v1.Pod) (map[string]string, error) {
	psc := pod.Spec.SecurityContext
	if psc == nil || len(psc.Sysctls) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, s := range psc.Sysctls {
		p := sysctlPath(s.Name)
		parts := strings.Split(p, "/")
		if len(parts) < 2 || parts[0] != "net" {
			return nil, fmt.Errorf("sysctl %q is not supported here: only per-network-namespace sysctls (net.*) can be set", s.Name)
		}
		for _, part := range parts {
			if part == "" || part == "." || part == ".." {
				return nil, fmt.Errorf("sysctl %q is not a valid name", s.Name)
			}
		}
		out[p] = s.Value
	}
	return out, nil
}

// sysctlPath turns a sysctl name into its path under /proc/sys. Names use either dots or
// slashes as separators; whichever comes first is the separator, and the other character
// is literal (net.ipv4.conf.eth0/100.rp_filter names the interface "eth0.100").
func sysctlPath(name string) string {
	dot, slash := strings.IndexByte(name, '.'), strings.IndexByte(name, '/')
	if dot < 0 || (slash >= 0 && slash < dot) {
		return name
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, name)
}

// applySysctls writes sysctls inside the network namespace at netnsPath. /proc/sys/net shows
// the namespace of the thread that opens it, so the writes happen on a thread that enters the
// namespace and is then thrown away (it is never unlocked), so no other goroutine runs there.
func applySysctls(netnsPath string, sysctls map[string]string) error {
	if len(sysctls) == 0 {
		return nil
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- func() error {
			ns, err := os.Open(netnsPath)
			if err != nil {
				return err
			}
			defer ns.Close()
			if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
				return fmt.Errorf("entering %s: %w", netnsPath, err)
			}
			for p, v := range sysctls {
				if err := os.WriteFile(filepath.Join("/proc/sys", p), []byte(v), 0); err != nil {
					return fmt.Errorf("setting sysctl %s=%s: %w", strings.ReplaceAll(p, "/", "."), v, err)
				}
			}
			return nil
		}()
	}()
	return <-errc
}

// dropPrivileges switches the calling thread to u. It uses raw, per-thread system calls on
// purpose: the thread then executes the container program, which inherits exactly its
// credentials, and the rest of the process is gone with the exec. Leaving root clears every
// capability, as for a container process that is not root.
func dropPrivileges(u *SandboxUser) error {
	groups := make([]uint32, len(u.Groups))
	for i, g := range u.Groups {
		groups[i] = uint32(g)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(unsafe.Pointer(unsafe.SliceData(groups))), 0); e != 0 {
		return fmt.Errorf("setgroups %v: %w", u.Groups, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("setresgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("setresuid %d: %w", u.UID, e)
	}
	return nil
}

// execFile executes the program opened as f (execveat with AT_EMPTY_PATH): a process that has
// just left root then needs no search permission on the directories above the binary, which
// may well be a checkout under /root.
func execFile(f *os.File, argv, env []string) error {
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	empty, err := syscall.BytePtrFromString("")
	if err != nil {
		return err
	}
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, f.Fd(), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return e
}
