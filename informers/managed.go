package informers

import (
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kubeinformers "k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// ManagedByLabel marks every object the controller generates for a managed Gateway.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "kengine-gateway"
)

// Managed holds the informers of the objects generated for managed Gateways. They watch only
// objects carrying ManagedByLabel, so their caches stay small.
type Managed struct {
	factory         kubeinformers.SharedInformerFactory
	Deployments     appslisters.DeploymentLister
	DaemonSets      appslisters.DaemonSetLister
	ServiceAccounts corelisters.ServiceAccountLister
	all             []cache.SharedIndexInformer
}

func newManaged(kube kubernetes.Interface, resync time.Duration) *Managed {
	f := kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync,
		kubeinformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = ManagedByLabel + "=" + ManagedByValue }))
	m := &Managed{factory: f}
	deps, dss, sas := f.Apps().V1().Deployments(), f.Apps().V1().DaemonSets(), f.Core().V1().ServiceAccounts()
	m.Deployments, m.DaemonSets, m.ServiceAccounts = deps.Lister(), dss.Lister(), sas.Lister()
	m.all = []cache.SharedIndexInformer{deps.Informer(), dss.Informer(), sas.Informer()}
	return m
}

// onManagedObject resyncs the Gateway a generated object belongs to, so that a hand edit or a
// deletion is reverted.
func (m *mapper) onManagedObject(obj any) {
	var meta metav1.Object
	switch o := obj.(type) {
	case *appsv1.Deployment:
		meta = o
	case *appsv1.DaemonSet:
		meta = o
	case *corev1.ServiceAccount:
		meta = o
	default:
		return
	}
	if gw := meta.GetLabels()[GatewayNameLabel]; gw != "" {
		m.q.EnqueueGateway(types.NamespacedName{Namespace: meta.GetNamespace(), Name: gw})
	}
}
