package nodeagent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
)

// podManager runs the pods bound to this node: one worker goroutine per pod, fed the pod's
// latest object by the informer.
type podManager struct {
	a   *Agent
	ctx context.Context

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	// finished holds pods whose worker is done (terminal, or deleted and finalized); they are
	// not run again, only finalized if they get deleted, until their delete event arrives.
	finished map[types.UID]bool
	wg       sync.WaitGroup
}

func newPodManager(ctx context.Context, a *Agent) *podManager {
	return &podManager{a: a, ctx: ctx, workers: map[types.UID]*podWorker{}, finished: map[types.UID]bool{}}
}

// update hands a new version of a pod bound to this node to its worker, starting one if needed.
func (m *podManager) update(pod *v1.Pod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return
	}
	if w, ok := m.workers[pod.UID]; ok {
		w.setPod(pod)
		return
	}
	if m.finished[pod.UID] || isTerminal(pod.Status.Phase) {
		m.finished[pod.UID] = true
		if pod.DeletionTimestamp != nil {
			// Nothing runs for it any more: complete the deletion, as kubelet does.
			go m.a.finalizeDeletion(m.ctx, pod)
		}
		return
	}
	w := newPodWorker(m, pod)
	m.workers[pod.UID] = w
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		w.run(m.ctx)
		m.mu.Lock()
		delete(m.workers, pod.UID)
		m.finished[pod.UID] = true
		m.mu.Unlock()
	}()
}

// remove tells the pod's worker that the pod is gone from the API.
func (m *podManager) remove(pod *v1.Pod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.finished, pod.UID)
	if w, ok := m.workers[pod.UID]; ok {
		w.setGone()
	}
}

// wait blocks until every worker has stopped its containers and removed its sandbox, which
// they do when the manager's context ends.
func (m *podManager) wait() { m.wg.Wait() }

func isTerminal(p v1.PodPhase) bool { return p == v1.PodSucceeded || p == v1.PodFailed }

// podWorker drives one pod from sandbox creation to teardown. Its goroutine alone creates and
// destroys the sandbox; container supervisors run beside it and report through kick.
type podWorker struct {
	m      *podManager
	a      *Agent
	uid    types.UID
	notify chan struct{}
	log    klog.Logger

	mu        sync.Mutex
	pod       *v1.Pod
	gone      bool
	sandbox   *Sandbox
	dir       string
	startTime *metav1.Time
	// podError is a pod-level problem that keeps containers from starting (reason, message).
	podErrorReason, podError string
	volumes                  map[string]string
	initContainers           []*container
	containers               []*container
	initialized              bool
	lastWritten              *v1.PodStatus
	// lastWrittenFrom and lastWrittenRV are the resourceVersions of the pod lastWritten was
	// written over and of the result.
	lastWrittenFrom, lastWrittenRV string
	warned                         map[string]bool
}

func newPodWorker(m *podManager, pod *v1.Pod) *podWorker {
	w := &podWorker{
		m: m, a: m.a, uid: pod.UID, pod: pod,
		notify: make(chan struct{}, 1),
		log:    klog.FromContext(m.ctx).WithValues("pod", klog.KObj(pod)),
		warned: map[string]bool{},
	}
	w.dir = filepath.Join(m.a.cfg.StateDir, "pods", fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
	for i := range pod.Spec.InitContainers {
		w.initContainers = append(w.initContainers, newContainer(w, pod.Spec.InitContainers[i], true))
	}
	for i := range pod.Spec.Containers {
		w.containers = append(w.containers, newContainer(w, pod.Spec.Containers[i], false))
	}
	return w
}

func (w *podWorker) setPod(pod *v1.Pod) {
	w.mu.Lock()
	w.pod = pod
	w.mu.Unlock()
	w.kick()
}

func (w *podWorker) setGone() {
	w.mu.Lock()
	w.gone = true
	w.mu.Unlock()
	w.kick()
}

// kick asks the worker to sync soon; it never blocks.
func (w *podWorker) kick() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// warnOnce records a Warning event for the pod once per distinct message.
func (w *podWorker) warnOnce(pod *v1.Pod, reason, msg string) {
	w.mu.Lock()
	seen := w.warned[reason+msg]
	w.warned[reason+msg] = true
	w.mu.Unlock()
	if !seen {
		w.log.Info("Pod problem", "reason", reason, "message", msg)
		w.a.recorder.Event(pod, v1.EventTypeWarning, reason, msg)
	}
}

func (w *podWorker) run(ctx context.Context) {
	ticker := time.NewTicker(w.a.cfg.SyncPeriod)
	defer ticker.Stop()
	for {
		if w.sync(ctx) {
			return
		}
		select {
		case <-ctx.Done():
			// The agent stops: stop the containers quickly and leave no namespace behind.
			w.terminate(w.a.cfg.ShutdownGrace)
			return
		case <-w.notify:
		case <-ticker.C:
		}
	}
}

// sync moves the pod one step towards what its spec asks and writes its status. It returns
// true when the worker is done with the pod.
func (w *podWorker) sync(ctx context.Context) bool {
	w.mu.Lock()
	pod, gone := w.pod, w.gone
	w.mu.Unlock()

	if gone {
		// Deleted without a grace period (or by someone else): stop at once.
		w.terminate(0)
		return true
	}
	if pod.DeletionTimestamp != nil {
		grace := 30 * time.Second
		if pod.DeletionGracePeriodSeconds != nil {
			grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		}
		w.log.V(2).Info("Stopping pod for deletion", "grace", grace)
		w.a.recorder.Eventf(pod, v1.EventTypeNormal, "Killing", "Stopping containers (grace period %s)", grace)
		w.terminate(grace)
		w.writeStatus(ctx)
		w.a.finalizeDeletion(ctx, pod)
		return true
	}

	if !w.imagesKnown(pod) {
		w.writeStatus(ctx)
		return false
	}
	sysctls, err := podSysctls(pod)
	if err != nil {
		w.setPodError("SysctlForbidden", err.Error())
		w.warnOnce(pod, "SysctlForbidden", err.Error())
		w.writeStatus(ctx)
		return false
	}
	if err := w.ensureSandbox(ctx, pod, sysctls); err != nil {
		w.setPodError("FailedCreatePodSandBox", err.Error())
		w.warnOnce(pod, "FailedCreatePodSandBox", err.Error())
		w.writeStatus(ctx)
		return false
	}
	if err := w.writeVolumes(ctx, pod); err != nil {
		w.setPodError("FailedMount", err.Error())
		w.warnOnce(pod, "FailedMount", err.Error())
		w.writeStatus(ctx)
		return false
	}
	w.setPodError("", "")

	// Init containers run one at a time, in order, each to success; then the app containers.
	w.mu.Lock()
	initialized := w.initialized
	w.mu.Unlock()
	if !initialized {
		for _, c := range w.initContainers {
			st := c.status()
			if st.succeeded {
				continue
			}
			if !st.launched {
				c.launch(ctx)
			}
			break
		}
		done := true
		for _, c := range w.initContainers {
			if !c.status().succeeded {
				done = false
			}
		}
		w.mu.Lock()
		w.initialized = done
		initialized = done
		w.mu.Unlock()
	}
	if initialized {
		for _, c := range w.containers {
			if !c.status().launched {
				c.launch(ctx)
			}
		}
	}

	phase := w.writeStatus(ctx)
	if isTerminal(phase) {
		// Every container has finished for good: free the pod's address and namespace.
		w.terminate(0)
		return true
	}
	return false
}

func (w *podWorker) setPodError(reason, msg string) {
	w.mu.Lock()
	w.podErrorReason, w.podError = reason, msg
	w.mu.Unlock()
}

// imagesKnown checks every container's image against the image table; an unknown one leaves
// that container waiting with ErrImagePull and a message naming the images this node runs.
func (w *podWorker) imagesKnown(pod *v1.Pod) bool {
	ok := true
	for _, c := range append(append([]*container(nil), w.initContainers...), w.containers...) {
		if _, known := w.a.cfg.Images.Lookup(c.spec.Image); known {
			continue
		}
		ok = false
		msg := fmt.Sprintf("image %q cannot run here: the node agent maps only these images to local binaries: %v",
			c.spec.Image, w.a.cfg.Images.Known())
		c.setWaiting("ErrImagePull", msg)
		w.warnOnce(pod, "Failed", msg)
	}
	return ok
}

func (w *podWorker) ensureSandbox(ctx context.Context, pod *v1.Pod, sysctls map[string]string) error {
	w.mu.Lock()
	has := w.sandbox != nil
	w.mu.Unlock()
	if has {
		return nil
	}
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return err
	}
	sb, err := w.a.network.AddPod(ctx, string(pod.UID))
	if err != nil {
		return fmt.Errorf("creating the pod network: %w", err)
	}
	if err := applySysctls(sb.NetnsPath(), sysctls); err != nil {
		w.a.network.RemovePod(context.WithoutCancel(ctx), sb)
		return err
	}
	now := metav1.Now()
	w.mu.Lock()
	w.sandbox = &sb
	if w.startTime == nil {
		w.startTime = &now
	}
	w.mu.Unlock()
	w.log.V(2).Info("Created pod sandbox", "ip", sb.IP, "netns", sb.Netns)
	return nil
}

func (w *podWorker) writeVolumes(ctx context.Context, pod *v1.Pod) error {
	w.mu.Lock()
	podIP := w.sandbox.IP.String()
	mounting := w.volumes == nil
	w.mu.Unlock()
	paths, err := w.a.volumes.write(ctx, pod, podIP, w.a.nodeIP(), filepath.Join(w.dir, "volumes"), mounting)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.volumes = paths
	w.mu.Unlock()
	return nil
}

// terminate stops every container (SIGTERM, then SIGKILL after grace) and removes the sandbox.
func (w *podWorker) terminate(grace time.Duration) {
	var wg sync.WaitGroup
	for _, c := range append(append([]*container(nil), w.initContainers...), w.containers...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.stop(grace)
		}()
	}
	wg.Wait()
	w.mu.Lock()
	sb := w.sandbox
	w.sandbox = nil
	w.mu.Unlock()
	if sb != nil {
		w.a.network.RemovePod(context.Background(), *sb)
		w.log.V(2).Info("Removed pod sandbox", "netns", sb.Netns)
	}
}

// finalizeDeletion removes a pod whose containers have stopped, with a zero grace period and
// a UID precondition so that a new pod of the same name is never touched.
func (a *Agent) finalizeDeletion(ctx context.Context, pod *v1.Pod) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := a.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		klog.FromContext(ctx).Error(err, "Deleting pod", "pod", klog.KObj(pod))
	}
}
