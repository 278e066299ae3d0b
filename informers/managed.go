package informers

import (
	"strings"
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
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ManagedByLabel marks every object the controller generates for a managed Gateway.
const (
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "kengine-gateway"
)

// InstanceLabel carries the "<gateway>-<class>" name of a Gateway's generated objects; it is
// part of their selector, so infrastructure labels cannot override it.
const InstanceLabel = "app.kubernetes.io/instance"

// AdminSecretSuffix ends the name of a Gateway's admin Secret: "<gateway>-<class>" + suffix.
const AdminSecretSuffix = "-admin"

// Managed holds the informers of the objects generated for managed Gateways. They watch only
// objects carrying ManagedByLabel, so their caches stay small.
type Managed struct {
	factory         kubeinformers.SharedInformerFactory
	Deployments     appslisters.DeploymentLister
	DaemonSets      appslisters.DaemonSetLister
	ServiceAccounts corelisters.ServiceAccountLister
	all             []cache.SharedIndexInformer
}

func newManaged(kube kubernetes.Interface, resync time.Duration, transform cache.TransformFunc) *Managed {
	f := kubeinformers.NewSharedInformerFactoryWithOptions(kube, resync, kubeinformers.WithTransform(transform),
		kubeinformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = ManagedByLabel + "=" + ManagedByValue }))
	m := &Managed{factory: f}
	deps, dss, sas := f.Apps().V1().Deployments(), f.Apps().V1().DaemonSets(), f.Core().V1().ServiceAccounts()
	m.Deployments, m.DaemonSets, m.ServiceAccounts = deps.Lister(), dss.Lister(), sas.Lister()
	m.all = []cache.SharedIndexInformer{deps.Informer(), dss.Informer(), sas.Informer()}
	return m
}

// adminSecretGateway reports whether s is shaped like the admin Secret the controller
// generates for a Gateway, and names that Gateway (in the Secret's namespace). It wants all
// of: the gateway-name label, a name that is the instance label plus AdminSecretSuffix, and a
// controller owner reference to that Gateway. managed-by is not required: a Gateway's
// infrastructure labels can override it, and the Secret must still be recognized.
//
// Anyone who may create Secrets in a namespace can forge this shape there, so it grants no
// trust: it only decides that the cache keeps the Secret's data and that an edit resyncs a
// Gateway of the same namespace. The controller reads an admin Secret only in its Gateway's
// namespace, whose owner is trusted, and accepts the intermediate in it only if it verifies
// against its own root for that Gateway's identity (AdminPKI.IntermediateValid in controller/managed).
func adminSecretGateway(s *corev1.Secret) (string, bool) {
	gw, instance := s.Labels[GatewayNameLabel], s.Labels[InstanceLabel]
	if gw == "" || instance == "" || s.Name != instance+AdminSecretSuffix {
		return "", false
	}
	owner := metav1.GetControllerOfNoCopy(s)
	if owner == nil || owner.Kind != "Gateway" || owner.Name != gw || !strings.HasPrefix(owner.APIVersion, gatewayv1.GroupName+"/") {
		return "", false
	}
	return gw, true
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
