package nodeagent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"

	"golang.org/x/sys/unix"
)

// SandboxExecCommand is the hidden first argument with which the node agent re-executes itself
// to start a container: the child enters the pod's namespaces, mounts its volumes and then
// replaces itself with the container's program, so the container's PID is the child's PID.
const SandboxExecCommand = "sandbox-exec"

// SandboxSpec is what the sandbox-exec child needs to start one container process.
type SandboxSpec struct {
	// NetnsPath names the pod's network namespace (/run/netns/<name>).
	NetnsPath string `json:"netnsPath"`
	// Hostname is set in the container's own UTS namespace: the pod name, as in Kubernetes.
	Hostname string `json:"hostname"`
	// ScratchDir is an empty host directory on which the child mounts a private tmpfs, used to
	// build stand-ins for host directories that must gain a new entry (a mount target that does
	// not exist): the host's files are never created or changed.
	ScratchDir string `json:"scratchDir"`
	// Mounts are bind mounts, applied in order of target path.
	Mounts []SandboxMount `json:"mounts"`
	// WorkingDir is the directory the program starts in.
	WorkingDir string `json:"workingDir"`
	// Argv is the program and its arguments; Argv[0] is an absolute path.
	Argv []string `json:"argv"`
	// Env is the program's whole environment.
	Env []string `json:"env"`
	// User is who the program runs as (runAsUser, runAsGroup, fsGroup and supplemental
	// groups); nil keeps the node agent's root identity.
	User *SandboxUser `json:"user,omitempty"`
	// NoNewPrivs sets no_new_privs (allowPrivilegeEscalation: false).
	NoNewPrivs bool `json:"noNewPrivs,omitempty"`
}

// SandboxMount binds a host file or directory at a path inside the container's mount namespace.
type SandboxMount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// RunSandboxExec is the child side of SandboxExecCommand: it reads the spec from the file at
// specPath and executes the container program inside the pod's namespaces. It returns only on
// failure.
func RunSandboxExec(specPath string) error {
	data, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var spec SandboxSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		return fmt.Errorf("parsing %s: %w", specPath, err)
	}
	// Namespaces belong to a thread: everything below, and the final exec, happens on this one.
	runtime.LockOSThread()
	netns, err := os.Open(spec.NetnsPath)
	if err != nil {
		return fmt.Errorf("opening network namespace: %w", err)
	}
	if err := unix.Setns(int(netns.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("entering network namespace %s: %w", spec.NetnsPath, err)
	}
	netns.Close()
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_NEWUTS); err != nil {
		return fmt.Errorf("creating mount and UTS namespaces: %w", err)
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("setting hostname: %w", err)
		}
	}
	// Nothing mounted from here on may propagate back to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	m := &mounter{scratch: spec.ScratchDir, ours: map[string]bool{}}
	if err := unix.Mount("tmpfs", spec.ScratchDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mounting scratch tmpfs: %w", err)
	}
	mounts := append([]SandboxMount(nil), spec.Mounts...)
	sort.SliceStable(mounts, func(i, j int) bool { return mounts[i].Target < mounts[j].Target })
	for _, mt := range mounts {
		if err := m.bind(mt); err != nil {
			return err
		}
	}
	// Sysfs shows the namespace it was mounted from: give the pod one that shows its own links.
	_ = unix.Unmount("/sys", unix.MNT_DETACH)
	_ = unix.Mount("sysfs", "/sys", "sysfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC|unix.MS_RDONLY, "")
	if spec.WorkingDir != "" {
		if err := os.Chdir(spec.WorkingDir); err != nil {
			return fmt.Errorf("changing to working directory %s: %w", spec.WorkingDir, err)
		}
	}
	if len(spec.Argv) == 0 {
		return fmt.Errorf("no program to run")
	}
	if spec.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("setting no_new_privs: %w", err)
		}
	}
	if spec.User == nil {
		return fmt.Errorf("executing %s: %w", spec.Argv[0], unix.Exec(spec.Argv[0], spec.Argv, spec.Env))
	}
	// The binary is opened while still root: the user may not search the directories above it.
	prog, err := os.Open(spec.Argv[0])
	if err != nil {
		return fmt.Errorf("opening %s: %w", spec.Argv[0], err)
	}
	if err := dropPrivileges(spec.User); err != nil {
		return err
	}
	return fmt.Errorf("executing %s as uid %d: %w", spec.Argv[0], spec.User.UID, execFile(prog, spec.Argv, spec.Env))
}

// mounter applies bind mounts inside a private mount namespace.
type mounter struct {
	scratch string
	n       int
	// ours holds directories that live on a tmpfs this mounter made: entries may be created
	// there without touching any host file system.
	ours map[string]bool
}

func (m *mounter) bind(mt SandboxMount) error {
	st, err := os.Stat(mt.Source)
	if err != nil {
		return fmt.Errorf("mount source for %s: %w", mt.Target, err)
	}
	target := filepath.Clean(mt.Target)
	if !filepath.IsAbs(target) {
		return fmt.Errorf("mount target %q is not absolute", mt.Target)
	}
	// Mounting follows symlinks (/var/run → /run): work on the real path throughout.
	target = resolveExisting(target)
	if err := m.ensure(target, st.IsDir()); err != nil {
		return fmt.Errorf("preparing mount target %s: %w", target, err)
	}
	if err := unix.Mount(mt.Source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("mounting %s at %s: %w", mt.Source, target, err)
	}
	if mt.ReadOnly {
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("making %s read-only: %w", target, err)
		}
	}
	return nil
}

// resolveExisting resolves the symlinks in the longest existing prefix of an absolute path
// and keeps the missing rest as written.
func resolveExisting(p string) string {
	rest := ""
	for cur := p; ; cur = filepath.Dir(cur) {
		if real, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(real, rest)
		}
		if cur == "/" {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
	}
}

// ensure makes path exist as a directory or a file in this mount namespace. Where the parent is
// a host directory, the parent is first replaced (in this namespace only) by a tmpfs that
// mirrors its entries through bind mounts, and the new entry is created on that tmpfs.
func (m *mounter) ensure(path string, dir bool) error {
	if st, err := os.Lstat(path); err == nil {
		if dir && !st.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", path)
		}
		return nil
	}
	parent := filepath.Dir(path)
	if err := m.ensure(parent, true); err != nil {
		return err
	}
	if !m.ours[parent] {
		if err := m.shadow(parent); err != nil {
			return err
		}
	}
	if dir {
		if err := os.Mkdir(path, 0o755); err != nil {
			return err
		}
		m.ours[path] = true
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// shadow replaces dir with a tmpfs holding the same entries (bind-mounted), so that new entries
// can be added to it.
func (m *mounter) shadow(dir string) error {
	m.n++
	stage := filepath.Join(m.scratch, fmt.Sprint(m.n))
	if err := os.Mkdir(stage, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", stage, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return fmt.Errorf("mounting tmpfs for %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		src, dst := filepath.Join(dir, e.Name()), filepath.Join(stage, e.Name())
		switch {
		case e.Type()&os.ModeSymlink != 0:
			link, err := os.Readlink(src)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, dst); err != nil {
				return err
			}
			continue
		case e.IsDir():
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
		default:
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			f.Close()
		}
		if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("mirroring %s: %w", src, err)
		}
	}
	if dir == "/" {
		// The root cannot be mounted over in place: switch to the new one as switch_root does.
		if err := os.Chdir(stage); err != nil {
			return err
		}
		if err := unix.Mount(stage, "/", "", unix.MS_MOVE, ""); err != nil {
			return fmt.Errorf("moving the new root: %w", err)
		}
		if err := unix.Chroot("."); err != nil {
			return err
		}
		if err := os.Chdir("/"); err != nil {
			return err
		}
	} else if err := unix.Mount(stage, dir, "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("placing the stand-in for %s: %w", dir, err)
	}
	m.ours[dir] = true
	return nil
}
