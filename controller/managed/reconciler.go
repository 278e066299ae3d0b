package managed

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/informers"
	"github.com/khulnasoft/gateway/kengine"
)

// Options configure the Kengine deployments the controller runs for Gateways that bring no
// Kengine of their own.
type Options struct {
	// Enabled turns managed Kengine on.
	Enabled bool
	// Image is the default Kengine image.
	Image string
	// AdminPort is the mutual-TLS admin port of managed pods.
	AdminPort int
	// HealthPort is the port of the readiness route in the configs pushed to the pods; their
	// readiness probe asks it. The controller sets it from its render options.
	HealthPort int
	// ReadyPath is the path of that readiness route. The controller sets it.
	ReadyPath string
	// PKI issues the admin credentials.
	PKI *AdminPKI
	// NewPusher builds the admin client for one Gateway's pods from its TLS settings.
	NewPusher func(tlsConfig *KengineTLS) (kengine.Pusher, error)
	// APITimeout bounds every call to the API server; zero means 30s.
	APITimeout time.Duration
}

// KengineTLS is what a managed Gateway's admin client needs.
type KengineTLS struct {
	// Identity is the name the pods' admin certificate carries.
	Identity string
	// Port is the admin port.
	Port int
}

// Listers are the informer caches a Reconciler reads.
type Listers struct {
	// Services holds the Services in front of Kengine pods, generated or the user's.
	Services corelisters.ServiceLister
	// Secrets holds the Gateways' admin Secrets.
	Secrets corelisters.SecretLister
	// ConfigMaps holds the parameters ConfigMaps.
	ConfigMaps corelisters.ConfigMapLister
	// ServiceAccounts holds the generated ServiceAccounts.
	ServiceAccounts corelisters.ServiceAccountLister
	// Deployments holds the generated Deployments.
	Deployments appslisters.DeploymentLister
	// DaemonSets holds the generated DaemonSets.
	DaemonSets appslisters.DaemonSetLister
	// GatewayServices returns the Services labelled with a Gateway's name, sorted
	// (informers.Informers.KengineServicesForGateway).
	GatewayServices func(gateway types.NamespacedName) ([]types.NamespacedName, error)
}

// Reconciler brings the generated objects and admin credentials of Gateways to their desired
// state. It remembers what it applied, so that an unchanged object is not written again, and
// keeps one admin client per Gateway. It is safe for concurrent use by the controller's
// workers, which never sync the same Gateway at once.
type Reconciler struct {
	kube    kubernetes.Interface
	listers Listers
	opts    Options

	mu      sync.Mutex
	applied map[string]appliedObject
	pushers map[types.NamespacedName]kengine.Pusher
}

// NewReconciler returns a Reconciler that writes through kube and reads from listers.
func NewReconciler(kube kubernetes.Interface, listers Listers, opts Options) *Reconciler {
	return &Reconciler{
		kube:    kube,
		listers: listers,
		opts:    opts,
		applied: map[string]appliedObject{},
		pushers: map[types.NamespacedName]kengine.Pusher{},
	}
}

// Access is what the controller needs to program a Gateway's pods: the admin block and pki
// app that every config it pushes must carry, and the client that reaches the pods.
type Access struct {
	// Admin is the admin block of the Gateway's configs.
	Admin *kengine.Admin
	// PKI is the pki app the admin identity needs.
	PKI *kengine.PKIApp
	// Pusher reaches the Gateway's pods over mutual TLS.
	Pusher kengine.Pusher
}

// BringsOwnKengine reports whether a Service labelled with the Gateway's name exists that the
// controller did not create: the user runs Kengine themselves.
func (r *Reconciler) BringsOwnKengine(gw *gatewayv1.Gateway) (bool, error) {
	services, err := r.listers.GatewayServices(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name})
	if err != nil {
		return false, err
	}
	for _, nn := range services {
		svc, err := r.listers.Services.Services(nn.Namespace).Get(nn.Name)
		if apierrors.IsNotFound(err) {
			continue // deleted since the index was read
		}
		if err != nil {
			return false, err
		}
		if !metav1.IsControlledBy(svc, gw) {
			return true, nil
		}
	}
	return false, nil
}

// Reconcile brings the Gateway's generated objects to their desired state and returns the
// admin settings its configs must carry and the client that reaches its pods.
func (r *Reconciler) Reconcile(ctx context.Context, gw *gatewayv1.Gateway, class *gatewayv1.GatewayClass, params Parameters) (Access, error) {
	access, adminData, err := r.reconcileAdmin(ctx, gw, class)
	if err != nil {
		return Access{}, err
	}
	objs := desiredManagedObjects(managedInput{
		gateway: gw, class: string(class.Name), params: params,
		adminPort: r.opts.AdminPort, healthPort: r.opts.HealthPort, readyPath: r.opts.ReadyPath, adminData: adminData,
	})
	if err := r.apply(ctx, "serviceaccounts", objs.serviceAccount); err != nil {
		return Access{}, err
	}
	name := managedName(gw.Name, string(class.Name))
	if objs.deployment != nil {
		if err := r.apply(ctx, "deployments", objs.deployment); err != nil {
			return Access{}, err
		}
		if err := r.deleteOwned(ctx, gw, "daemonsets", name); err != nil {
			return Access{}, err
		}
	} else {
		if err := r.apply(ctx, "daemonsets", objs.daemonSet); err != nil {
			return Access{}, err
		}
		if err := r.deleteOwned(ctx, gw, "deployments", name); err != nil {
			return Access{}, err
		}
	}
	if err := r.apply(ctx, "services", objs.service); err != nil {
		return Access{}, err
	}
	return access, nil
}

// ReconcileAdmin applies the Gateway's admin Secret (root, intermediate, bootstrap config) and
// returns the admin settings and client for its pods. Managed Gateways mount the Secret in the
// pods the controller runs; bring-your-own Kengine mounts it in the user's pods, which gives
// them the same mutual TLS without any setup.
func (r *Reconciler) ReconcileAdmin(ctx context.Context, gw *gatewayv1.Gateway, class *gatewayv1.GatewayClass) (Access, error) {
	access, _, err := r.reconcileAdmin(ctx, gw, class)
	return access, err
}

// reconcileAdmin is ReconcileAdmin that also returns the admin Secret's content, which the
// pod template's hash annotation depends on.
func (r *Reconciler) reconcileAdmin(ctx context.Context, gw *gatewayv1.Gateway, class *gatewayv1.GatewayClass) (Access, map[string][]byte, error) {
	identity := AdminIdentity(gw.Namespace, gw.Name)
	admin, pki := Admin(AdminParams{
		Identity: identity, Pins: r.opts.PKI.PinnedClientCAs(),
		RemoteListen: fmt.Sprintf(":%d", r.opts.AdminPort), Dir: adminMountPath,
	})
	access := Access{Admin: admin, PKI: pki}
	adminData, err := r.adminSecretData(gw, class, identity, admin, pki)
	if err != nil {
		return Access{}, nil, err
	}
	secret := desiredManagedObjects(managedInput{gateway: gw, class: string(class.Name), params: Parameters{kind: "Deployment"}, adminData: adminData}).secret
	if err := r.apply(ctx, "secrets", secret); err != nil {
		return Access{}, nil, err
	}
	if access.Pusher, err = r.pusher(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}, identity); err != nil {
		return Access{}, nil, err
	}
	return access, adminData, nil
}

// adminSecretData keeps the Gateway's intermediate while it is valid and refreshes the
// bootstrap config (whose pins change when the client CA rotates).
func (r *Reconciler) adminSecretData(gw *gatewayv1.Gateway, class *gatewayv1.GatewayClass, identity string, admin *kengine.Admin, pki *kengine.PKIApp) (map[string][]byte, error) {
	ca := r.opts.PKI
	name := managedName(gw.Name, string(class.Name)) + informers.AdminSecretSuffix
	var certPEM, keyPEM []byte
	if existing, err := r.listers.Secrets.Secrets(gw.Namespace).Get(name); err == nil && ca.IntermediateValid(existing.Data["intermediate.crt"], identity) {
		certPEM, keyPEM = existing.Data["intermediate.crt"], existing.Data["intermediate.key"]
	} else {
		var ierr error
		if certPEM, keyPEM, ierr = ca.GatewayIntermediate(identity); ierr != nil {
			return nil, ierr
		}
	}
	boot := kengine.Config{Admin: admin, Apps: kengine.Apps{PKI: pki}}
	bootJSON, err := boot.Marshal()
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		"root.crt": ca.RootPEM(), "intermediate.crt": certPEM, "intermediate.key": keyPEM, bootstrapFileName: bootJSON,
	}, nil
}

// pusher returns the Gateway's admin client, building it on first use.
func (r *Reconciler) pusher(key types.NamespacedName, identity string) (kengine.Pusher, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pushers[key]; ok {
		return p, nil
	}
	p, err := r.opts.NewPusher(&KengineTLS{Identity: identity, Port: r.opts.AdminPort})
	if err != nil {
		return nil, err
	}
	r.pushers[key] = p
	return p, nil
}

// Forget drops the per-Gateway state of a deleted Gateway; its objects go with it through
// their owner references.
func (r *Reconciler) Forget(key types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pushers, key)
	prefix := "/" + key.Namespace + "/"
	for k := range r.applied {
		if strings.Contains(k, prefix) {
			delete(r.applied, k)
		}
	}
}
