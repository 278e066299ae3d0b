package nodeagent

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// ownedConditions are the pod conditions this node writes; any other condition (PodScheduled,
// readiness gates, DisruptionTarget) is kept as the API has it.
var ownedConditions = map[v1.PodConditionType]bool{
	v1.PodReadyToStartContainers: true,
	v1.PodInitialized:            true,
	v1.ContainersReady:           true,
	v1.PodReady:                  true,
}

// computeStatus derives the pod's status from the worker's state, on top of the status the
// API currently holds. The caller holds w.mu.
func (w *podWorker) computeStatus(pod *v1.Pod) v1.PodStatus {
	s := *pod.Status.DeepCopy()
	s.HostIP = w.a.nodeIP()
	s.HostIPs = []v1.HostIP{{IP: s.HostIP}}
	if w.sandbox != nil {
		s.PodIP = w.sandbox.IP.String()
		s.PodIPs = []v1.PodIP{{IP: s.PodIP}}
	}
	if w.startTime != nil && s.StartTime == nil {
		s.StartTime = w.startTime
	}

	s.InitContainerStatuses = nil
	for _, c := range w.initContainers {
		s.InitContainerStatuses = append(s.InitContainerStatuses, c.apiStatus())
	}
	s.ContainerStatuses = nil
	allReady := len(w.containers) > 0
	running, finished, failed, launched := 0, 0, 0, 0
	for _, c := range w.containers {
		cs := c.apiStatus()
		s.ContainerStatuses = append(s.ContainerStatuses, cs)
		if !cs.Ready {
			allReady = false
		}
		if c.launched {
			launched++
		}
		if cs.State.Running != nil {
			running++
		}
		if c.finished {
			finished++
			if !c.succeeded {
				failed++
			}
		}
	}
	initFailed := false
	for _, c := range w.initContainers {
		if c.finished && !c.succeeded {
			initFailed = true
		}
	}

	switch {
	case initFailed:
		s.Phase = v1.PodFailed
	case len(w.containers) > 0 && finished == len(w.containers) && failed == 0:
		s.Phase = v1.PodSucceeded
	case len(w.containers) > 0 && finished == len(w.containers):
		s.Phase = v1.PodFailed
	case w.initialized && launched == len(w.containers) && (running > 0 || finished > 0 || anyRestarted(w.containers)):
		s.Phase = v1.PodRunning
	default:
		s.Phase = v1.PodPending
	}
	if isTerminal(s.Phase) {
		allReady = false
	}

	ready := allReady
	for _, g := range pod.Spec.ReadinessGates {
		found := false
		for _, cond := range pod.Status.Conditions {
			if cond.Type == g.ConditionType && cond.Status == v1.ConditionTrue {
				found = true
			}
		}
		if !found {
			ready = false
		}
	}
	want := map[v1.PodConditionType]v1.PodCondition{
		v1.PodReadyToStartContainers: boolCondition(v1.PodReadyToStartContainers, w.sandbox != nil, w.podErrorReason, w.podError),
		v1.PodInitialized:            boolCondition(v1.PodInitialized, w.initialized, "ContainersNotInitialized", ""),
		v1.ContainersReady:           boolCondition(v1.ContainersReady, allReady, "ContainersNotReady", ""),
		v1.PodReady:                  boolCondition(v1.PodReady, ready, "ContainersNotReady", ""),
	}
	s.Conditions = mergeConditions(pod.Status.Conditions, want)
	if w.podErrorReason != "" {
		s.Reason, s.Message = "", ""
	}
	return s
}

func anyRestarted(cs []*container) bool {
	for _, c := range cs {
		if c.restarts > 0 {
			return true
		}
	}
	return false
}

func boolCondition(t v1.PodConditionType, ok bool, reason, msg string) v1.PodCondition {
	if ok {
		return v1.PodCondition{Type: t, Status: v1.ConditionTrue}
	}
	return v1.PodCondition{Type: t, Status: v1.ConditionFalse, Reason: reason, Message: msg}
}

// mergeConditions replaces the conditions this node owns, keeping each one's transition time
// while its status does not change, and keeps the others untouched.
func mergeConditions(old []v1.PodCondition, want map[v1.PodConditionType]v1.PodCondition) []v1.PodCondition {
	var out []v1.PodCondition
	seen := map[v1.PodConditionType]bool{}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	for _, c := range old {
		if !ownedConditions[c.Type] {
			out = append(out, c)
			continue
		}
		n := want[c.Type]
		seen[c.Type] = true
		n.LastTransitionTime = c.LastTransitionTime
		if c.Status != n.Status {
			n.LastTransitionTime = now
		}
		n.ObservedGeneration = c.ObservedGeneration
		out = append(out, n)
	}
	for _, t := range []v1.PodConditionType{v1.PodReadyToStartContainers, v1.PodInitialized, v1.ContainersReady, v1.PodReady} {
		if !seen[t] {
			n := want[t]
			n.LastTransitionTime = now
			out = append(out, n)
		}
	}
	return out
}

// apiStatus reports the container as the pod status shows it. The caller holds w.mu.
func (c *container) apiStatus() v1.ContainerStatus {
	started := c.started && c.state.Running != nil
	st := v1.ContainerStatus{
		Name:                 c.spec.Name,
		Image:                c.spec.Image,
		ImageID:              "nodeagent://" + Repository(c.spec.Image),
		State:                *c.state.DeepCopy(),
		LastTerminationState: *c.last.DeepCopy(),
		Ready:                c.ready && c.state.Running != nil,
		RestartCount:         c.restarts,
		Started:              &started,
	}
	if c.state.Running != nil {
		st.ContainerID = c.containerID(c.restarts)
	} else if c.state.Terminated != nil {
		st.ContainerID = c.state.Terminated.ContainerID
	}
	if c.state.Running != nil || c.state.Terminated != nil {
		// The last termination shows only once the container has restarted.
		if c.state.Terminated != nil {
			st.LastTerminationState = v1.ContainerState{}
		}
	}
	return st
}

// writeStatus computes the pod's status and writes it when it differs from what was last
// written, retrying on conflicts with a fresh copy of the pod. It returns the phase.
func (w *podWorker) writeStatus(ctx context.Context) v1.PodPhase {
	w.mu.Lock()
	pod := w.pod
	status := w.computeStatus(pod)
	// What we wrote last counts only while the cached pod is the one we wrote it to (or the
	// informer has not caught up yet): a status someone else changed since (the node lifecycle
	// controller marks the pods of a node it lost touch with not ready) is repaired, as
	// kubelet's status manager does.
	ours := pod.ResourceVersion == w.lastWrittenFrom || pod.ResourceVersion == w.lastWrittenRV
	unchanged := (w.lastWritten != nil && ours && equality.Semantic.DeepEqual(*w.lastWritten, status)) ||
		equality.Semantic.DeepEqual(pod.Status, status)
	w.mu.Unlock()
	if unchanged {
		return status.Phase
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	first := true
	var from, written string
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur := pod
		if !first {
			fresh, err := w.a.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if fresh.UID != pod.UID {
				return apierrors.NewNotFound(v1.Resource("pods"), pod.Name)
			}
			cur = fresh
			w.mu.Lock()
			status = w.computeStatus(fresh)
			w.mu.Unlock()
		}
		first = false
		upd := cur.DeepCopy()
		upd.Status = status
		out, err := w.a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err == nil {
			from, written = cur.ResourceVersion, out.ResourceVersion
		}
		return err
	})
	if err != nil {
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			w.log.Error(err, "Writing pod status")
		}
		return status.Phase
	}
	w.mu.Lock()
	w.lastWritten, w.lastWrittenFrom, w.lastWrittenRV = &status, from, written
	w.mu.Unlock()
	return status.Phase
}
