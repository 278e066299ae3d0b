package nodeagent

import (
	"context"
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"
)

// capacity is what the node reports it has; pods here carry no resource accounting, so the
// numbers only need to be large enough for every workload to fit.
func (a *Agent) capacity() v1.ResourceList {
	return v1.ResourceList{
		v1.ResourceCPU:              resource.MustParse("16"),
		v1.ResourceMemory:           resource.MustParse("64Gi"),
		v1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
		v1.ResourcePods:             *resource.NewQuantity(int64(a.cfg.MaxPods), resource.DecimalSI),
	}
}

// nodeIP is the node's address: the bridge's address on the pod network.
func (a *Agent) nodeIP() string { return a.network.GatewayIP().String() }

// nodeStatus is the status the node reports; heartbeat times are set by the caller.
func (a *Agent) nodeStatus(now metav1.Time, old []v1.NodeCondition) v1.NodeStatus {
	conds := []v1.NodeCondition{
		{Type: v1.NodeReady, Status: v1.ConditionTrue, Reason: "KubeletReady", Message: "node agent is posting ready status"},
		{Type: v1.NodeMemoryPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientMemory"},
		{Type: v1.NodeDiskPressure, Status: v1.ConditionFalse, Reason: "KubeletHasNoDiskPressure"},
		{Type: v1.NodePIDPressure, Status: v1.ConditionFalse, Reason: "KubeletHasSufficientPID"},
		{Type: v1.NodeNetworkUnavailable, Status: v1.ConditionFalse, Reason: "RouteCreated"},
	}
	for i := range conds {
		conds[i].LastHeartbeatTime = now
		conds[i].LastTransitionTime = now
		for _, o := range old {
			if o.Type == conds[i].Type && o.Status == conds[i].Status {
				conds[i].LastTransitionTime = o.LastTransitionTime
			}
		}
	}
	return v1.NodeStatus{
		Capacity:    a.capacity(),
		Allocatable: a.capacity(),
		Conditions:  conds,
		Addresses: []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: a.nodeIP()},
			{Type: v1.NodeHostName, Address: a.cfg.NodeName},
		},
		NodeInfo: v1.NodeSystemInfo{
			OperatingSystem:         "linux",
			Architecture:            "amd64",
			KubeletVersion:          "v1.37.2",
			ContainerRuntimeVersion: "nodeagent://1",
			KernelVersion:           "",
			OSImage:                 "kengine-gateway local environment",
		},
	}
}

// registerNode creates the Node, or takes over the one an earlier run left, and reports it Ready.
func (a *Agent) registerNode(ctx context.Context) error {
	nodes := a.client.CoreV1().Nodes()
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: a.cfg.NodeName,
			Labels: map[string]string{
				"kubernetes.io/hostname": a.cfg.NodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
			},
		},
		Spec: v1.NodeSpec{PodCIDR: a.cfg.Network.Subnet.String(), PodCIDRs: []string{a.cfg.Network.Subnet.String()}},
	}
	_, err := nodes.Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("registering node %s: %w", a.cfg.NodeName, err)
	}
	return a.updateNodeStatus(ctx)
}

func (a *Agent) updateNodeStatus(ctx context.Context) error {
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		n, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status = a.nodeStatus(metav1.Now(), n.Status.Conditions)
		_, err = a.client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// renewLease keeps the node's Lease in kube-node-lease fresh, which is what the node lifecycle
// controller watches to decide that a node is alive.
func (a *Agent) renewLease(ctx context.Context) error {
	leases := a.client.CoordinationV1().Leases(v1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	duration := int32(40)
	l, err := leases.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Namespace: v1.NamespaceNodeLease},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       &a.cfg.NodeName,
				LeaseDurationSeconds: &duration,
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	l.Spec.HolderIdentity = &a.cfg.NodeName
	l.Spec.LeaseDurationSeconds = &duration
	l.Spec.RenewTime = &now
	_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	return err
}

// heartbeat renews the lease every 10 s and the node status every minute, as kubelet does.
func (a *Agent) heartbeat(ctx context.Context) {
	log := klog.FromContext(ctx)
	lastStatus := time.Now()
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := a.renewLease(cctx); err != nil {
			log.Error(err, "Renewing node lease")
		}
		if time.Since(lastStatus) >= time.Minute {
			if err := a.updateNodeStatus(cctx); err != nil {
				log.Error(err, "Updating node status")
				return
			}
			lastStatus = time.Now()
		}
	}, 10*time.Second)
}
