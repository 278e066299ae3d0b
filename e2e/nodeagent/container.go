package nodeagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/khulnasoft/gateway/e2e/internal/proc"
)

// container supervises one container of a pod: it starts the process inside the pod's
// sandbox, probes it, restarts it as the pod's restartPolicy says, and records the state that
// goes into the pod's status. All fields below spec are guarded by the worker's mutex.
type container struct {
	w    *podWorker
	spec v1.Container
	init bool

	state    v1.ContainerState
	last     v1.ContainerState
	restarts int32
	ready    bool
	started  bool
	launched bool
	// finished means the supervisor will not start the process again.
	finished  bool
	succeeded bool
	stopping  bool
	// proc is the running instance (zero when none).
	proc proc.Record
	// stopCh is closed to stop the supervisor; exited is closed when it has returned.
	stopCh chan struct{}
	exited chan struct{}
}

func newContainer(w *podWorker, spec v1.Container, init bool) *container {
	return &container{
		w: w, spec: spec, init: init,
		state:  v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: "ContainerCreating"}},
		stopCh: make(chan struct{}),
		exited: make(chan struct{}),
	}
}

// containerSnapshot is a consistent copy of the fields the pod worker decides on.
type containerSnapshot struct {
	launched, finished, succeeded bool
}

func (c *container) status() containerSnapshot {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return containerSnapshot{launched: c.launched, finished: c.finished, succeeded: c.succeeded}
}

func (c *container) setWaiting(reason, msg string) {
	c.w.mu.Lock()
	if c.state.Running == nil {
		c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: msg}}
	}
	c.w.mu.Unlock()
}

// launch starts the supervisor goroutine once.
func (c *container) launch(ctx context.Context) {
	c.w.mu.Lock()
	if c.launched || c.stopping {
		c.w.mu.Unlock()
		return
	}
	c.launched = true
	c.w.mu.Unlock()
	go c.supervise(ctx)
}

// stop ends the container: SIGTERM to its process, SIGKILL to its process group after grace,
// and no restart. It returns when the supervisor has exited.
func (c *container) stop(grace time.Duration) {
	c.w.mu.Lock()
	if !c.stopping {
		c.stopping = true
		close(c.stopCh)
	}
	launched, r := c.launched, c.proc
	c.w.mu.Unlock()
	if !launched {
		return
	}
	if r.PID > 0 {
		_ = r.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
			return
		case <-time.After(grace):
		}
		_ = r.Signal(syscall.SIGKILL)
		_ = syscall.Kill(-r.PID, syscall.SIGKILL)
	}
	<-c.exited
}

func (c *container) restartPolicy() v1.ContainerRestartPolicy {
	if c.spec.RestartPolicy != nil {
		return *c.spec.RestartPolicy
	}
	return v1.ContainerRestartPolicy(c.w.pod.Spec.RestartPolicy)
}

// supervise runs the container until it finishes for good or is stopped.
func (c *container) supervise(ctx context.Context) {
	defer close(c.exited)
	backoff := time.Second
	for {
		startedAt := time.Now()
		exitCode, reason, msg, err := c.runOnce(ctx)
		if err != nil {
			// The process could not be started at all (bad config, missing ConfigMap key...).
			c.w.mu.Lock()
			c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{Reason: reason, Message: err.Error()}}
			c.ready = false
			pod := c.w.pod
			c.w.mu.Unlock()
			c.w.warnOnce(pod, "Failed", fmt.Sprintf("Error: container %s: %v", c.spec.Name, err))
		}
		c.w.kick()

		c.w.mu.Lock()
		stopping := c.stopping
		policy := c.restartPolicy()
		restart := err != nil || policy == v1.ContainerRestartPolicyAlways ||
			(policy == v1.ContainerRestartPolicyOnFailure && exitCode != 0)
		if c.init && err == nil {
			// Init containers restart on failure unless the pod never restarts.
			restart = exitCode != 0 && c.w.pod.Spec.RestartPolicy != v1.RestartPolicyNever
		}
		if err == nil && !restart {
			c.finished = true
			c.succeeded = exitCode == 0
		}
		c.w.mu.Unlock()
		if stopping || !restart {
			c.w.kick()
			return
		}

		if time.Since(startedAt) > time.Minute {
			backoff = time.Second
		}
		c.w.mu.Lock()
		if err == nil {
			c.restarts++
			c.state = v1.ContainerState{Waiting: &v1.ContainerStateWaiting{
				Reason:  "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s) (last exit %d %s %s)", backoff, c.spec.Name, c.w.pod.Name, c.w.pod.Namespace, c.w.pod.UID, exitCode, reason, msg),
			}}
		}
		c.w.mu.Unlock()
		c.w.kick()
		select {
		case <-c.stopCh:
			return
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 40*time.Second)
	}
}

// runOnce starts one instance of the container and waits for it to exit. It returns the exit
// code and termination reason, or an error (with a waiting reason) when nothing could start.
func (c *container) runOnce(ctx context.Context) (code int, reason, message string, err error) {
	w := c.w
	w.mu.Lock()
	pod := w.pod
	if c.stopping {
		w.mu.Unlock()
		return 0, "", "", nil
	}
	sb := *w.sandbox
	volumes := w.volumes
	restarts := c.restarts
	w.mu.Unlock()

	img, _ := w.a.cfg.Images.Lookup(c.spec.Image)
	env, err := containerEnv(pod, &c.spec, img, w.a.refs, w.a.apiServerEnv(), sb.IP.String(), w.a.nodeIP(), w.a.capacity())
	if err != nil {
		return 0, "CreateContainerConfigError", "", err
	}
	vals := envMap(env)
	command := make([]string, len(c.spec.Command))
	for i, s := range c.spec.Command {
		command[i] = expand(s, vals)
	}
	args := make([]string, len(c.spec.Args))
	for i, s := range c.spec.Args {
		args[i] = expand(s, vals)
	}
	argv, err := img.Argv(command, args)
	if err != nil {
		return 0, "RunContainerError", "", err
	}

	// Each instance gets fresh writable directories, like a new container's writable layer.
	cdir := filepath.Join(w.dir, "containers", c.spec.Name)
	instance := filepath.Join(cdir, fmt.Sprintf("instance-%d", restarts))
	// Keep the previous instance's files for debugging, drop older ones.
	if old, _ := filepath.Glob(filepath.Join(cdir, "instance-*")); len(old) > 0 {
		for _, d := range old {
			if d != filepath.Join(cdir, fmt.Sprintf("instance-%d", restarts-1)) {
				_ = os.RemoveAll(d)
			}
		}
	}
	user, err := containerUser(pod, &c.spec)
	if err != nil {
		return 0, "CreateContainerConfigError", "", err
	}
	home := filepath.Join(instance, "home")
	scratch := filepath.Join(instance, "mnt")
	for _, d := range []string{home, scratch} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return 0, "RunContainerError", "", err
		}
	}
	if _, set := vals["HOME"]; !set {
		if user != nil && user.UID != 0 {
			// A user the image does not list gets "/", as from runc.
			env = append(env, "HOME=/")
		} else {
			env = append(env, "HOME="+home)
		}
	}

	spec := SandboxSpec{
		NetnsPath:  sb.NetnsPath(),
		Hostname:   pod.Name,
		ScratchDir: scratch,
		WorkingDir: c.spec.WorkingDir,
		Argv:       argv,
		Env:        env,
		User:       user,
		NoNewPrivs: noNewPrivs(&c.spec),
	}
	if spec.WorkingDir == "" {
		spec.WorkingDir = "/"
	}
	mounted := map[string]bool{}
	for _, vm := range c.spec.VolumeMounts {
		src, ok := volumes[vm.Name]
		if !ok {
			return 0, "CreateContainerConfigError", "", fmt.Errorf("volumeMount %q names no volume of the pod", vm.Name)
		}
		if vm.SubPath != "" {
			src = filepath.Join(src, vm.SubPath)
			if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(src, 0o755); err != nil {
					return 0, "CreateContainerConfigError", "", err
				}
			}
		}
		spec.Mounts = append(spec.Mounts, SandboxMount{Source: src, Target: vm.MountPath, ReadOnly: vm.ReadOnly})
		mounted[path.Clean(vm.MountPath)] = true
	}
	for _, d := range img.ScratchDirs {
		if mounted[d] {
			continue
		}
		src := filepath.Join(instance, "fs", strings.ReplaceAll(strings.Trim(d, "/"), "/", "_"))
		if err := os.MkdirAll(src, 0o755); err != nil {
			return 0, "RunContainerError", "", err
		}
		spec.Mounts = append(spec.Mounts, SandboxMount{Source: src, Target: d})
	}
	specData, err := json.Marshal(spec)
	if err != nil {
		return 0, "RunContainerError", "", err
	}
	specPath := filepath.Join(instance, "sandbox.json")
	if err := os.WriteFile(specPath, specData, 0o600); err != nil {
		return 0, "RunContainerError", "", err
	}
	logFile, err := os.OpenFile(filepath.Join(cdir, "output.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, "RunContainerError", "", err
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "---- %s starting instance %d: %s\n", time.Now().UTC().Format(time.RFC3339), restarts, strings.Join(argv, " "))

	cmd := exec.Command(w.a.selfExe, SandboxExecCommand, specPath)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, "RunContainerError", "", fmt.Errorf("starting %s: %w", argv[0], err)
	}
	rec, _ := proc.RecordOf(cmd.Process.Pid)
	pidFile := filepath.Join(w.a.cfg.PIDDir, fmt.Sprintf("%s_%s.pid", pod.UID, c.spec.Name))
	if err := proc.WriteFile(pidFile, rec); err != nil {
		w.log.Error(err, "Writing pid file", "container", c.spec.Name)
	}
	startedAt := metav1.Now()

	instCtx, cancel := context.WithCancel(ctx)
	w.mu.Lock()
	c.proc = rec
	c.state = v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: startedAt}}
	c.started = c.spec.StartupProbe == nil
	c.ready = c.spec.ReadinessProbe == nil && c.started && !c.init
	stopping := c.stopping
	w.mu.Unlock()
	if stopping {
		// stop ran while this instance was starting and found no process to signal.
		_ = syscall.Kill(-rec.PID, syscall.SIGKILL)
	}
	w.kick()
	w.log.V(2).Info("Started container", "container", c.spec.Name, "pid", rec.PID, "argv", argv)
	w.a.recorder.Eventf(pod, v1.EventTypeNormal, "Started", "Started container %s", c.spec.Name)
	if !c.init {
		c.startProbes(instCtx, pod, sb.IP.String(), rec)
	}

	waitErr := cmd.Wait()
	cancel()
	_ = os.Remove(pidFile)
	finishedAt := metav1.Now()

	code, reason = 0, "Completed"
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		ws := exitErr.Sys().(syscall.WaitStatus)
		switch {
		case ws.Signaled():
			code = 128 + int(ws.Signal())
		default:
			code = ws.ExitStatus()
		}
		reason = "Error"
	} else if waitErr != nil {
		code, reason = 128, "Error"
	}
	if code != 0 {
		message = lastLines(filepath.Join(cdir, "output.log"), 5)
	}
	term := &v1.ContainerStateTerminated{
		ExitCode: int32(code), Reason: reason, Message: message,
		StartedAt: startedAt, FinishedAt: finishedAt,
		ContainerID: c.containerID(restarts),
	}
	w.mu.Lock()
	c.proc = proc.Record{}
	c.state = v1.ContainerState{Terminated: term}
	c.last = v1.ContainerState{Terminated: term}
	c.ready = false
	w.mu.Unlock()
	w.log.V(2).Info("Container exited", "container", c.spec.Name, "code", code)
	return code, reason, message, nil
}

func (c *container) containerID(instance int32) string {
	return fmt.Sprintf("nodeagent://%s-%s-%d", c.w.uid, c.spec.Name, instance)
}

// startProbes runs the container's startup, readiness and liveness probes for one instance.
func (c *container) startProbes(ctx context.Context, pod *v1.Pod, podIP string, r proc.Record) {
	w := c.w
	startupDone := make(chan struct{})
	if p := c.spec.StartupProbe; p != nil {
		go prober{probe: p, container: &c.spec, podIP: podIP, report: func(passed, failed bool, msg string) bool {
			if passed {
				w.mu.Lock()
				c.started = true
				c.ready = c.spec.ReadinessProbe == nil
				w.mu.Unlock()
				w.kick()
				close(startupDone)
				return true
			}
			if failed {
				w.a.recorder.Eventf(pod, v1.EventTypeWarning, "Unhealthy", "Startup probe failed: %s", msg)
				_ = r.Signal(syscall.SIGKILL)
				return true
			}
			return false
		}}.run(ctx)
	} else {
		close(startupDone)
	}
	afterStartup := func(f func()) {
		go func() {
			select {
			case <-ctx.Done():
			case <-startupDone:
				f()
			}
		}()
	}
	if p := c.spec.ReadinessProbe; p != nil {
		afterStartup(func() {
			prober{probe: p, container: &c.spec, podIP: podIP, report: func(passed, failed bool, msg string) bool {
				w.mu.Lock()
				was := c.ready
				switch {
				case passed:
					c.ready = true
				case failed:
					c.ready = false
				}
				now := c.ready
				w.mu.Unlock()
				if was != now {
					w.kick()
					if !now {
						w.a.recorder.Eventf(pod, v1.EventTypeWarning, "Unhealthy", "Readiness probe failed: %s", msg)
					}
				}
				return false
			}}.run(ctx)
		})
	}
	if p := c.spec.LivenessProbe; p != nil {
		afterStartup(func() {
			prober{probe: p, container: &c.spec, podIP: podIP, report: func(passed, failed bool, msg string) bool {
				if failed {
					w.a.recorder.Eventf(pod, v1.EventTypeWarning, "Unhealthy", "Liveness probe failed: %s; restarting container %s", msg, c.spec.Name)
					_ = r.Signal(syscall.SIGTERM)
					return true
				}
				return false
			}}.run(ctx)
		})
	}
}

// lastLines returns up to n last lines of a file, for a terminated container's message.
func lastLines(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(data) > 4096 {
		data = data[len(data)-4096:]
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
