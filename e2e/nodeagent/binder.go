package nodeagent

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
)

// bindPod assigns a pending pod to this node, standing in for the scheduler: there is one node,
// and it accepts every pod the default scheduler would be asked to place. Pods that name another
// scheduler or still carry scheduling gates are left alone.
func (a *Agent) bindPod(ctx context.Context, pod *v1.Pod) {
	if pod.Spec.NodeName != "" || pod.DeletionTimestamp != nil || isTerminal(pod.Status.Phase) ||
		len(pod.Spec.SchedulingGates) > 0 {
		return
	}
	if s := pod.Spec.SchedulerName; s != "" && s != v1.DefaultSchedulerName {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := a.client.CoreV1().Pods(pod.Namespace).Bind(ctx, &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: a.cfg.NodeName},
	}, metav1.CreateOptions{})
	log := klog.FromContext(ctx)
	if err != nil {
		// Already bound (a conflict) or gone: the informer brings the next state.
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			log.Error(err, "Binding pod", "pod", klog.KObj(pod))
		}
		return
	}
	log.V(2).Info("Bound pod", "pod", klog.KObj(pod), "node", a.cfg.NodeName)
	a.recorder.Eventf(pod, v1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, a.cfg.NodeName)
}
