package managed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// fieldManager owns the fields the controller applies to generated objects.
const fieldManager = "kengine-gateway"

// appliedObject is what the Reconciler last applied for one object: the hash of the body and
// the resourceVersion the API server returned for it.
type appliedObject struct {
	hash            string
	resourceVersion string
}

// generatedKind reads and server-side applies one kind of generated object.
type generatedKind struct {
	// label names the kind in errors.
	label string
	// live reads the object from the informer cache.
	live func(r *Reconciler, ns, name string) (metav1.Object, error)
	// apply sends an apply patch and returns the stored object.
	apply func(ctx context.Context, r *Reconciler, ns, name string, body []byte, opts metav1.PatchOptions) (metav1.Object, error)
}

// generatedKinds are the kinds of generated objects, by resource name.
var generatedKinds = map[string]generatedKind{
	"secrets": {"Secret",
		func(r *Reconciler, ns, name string) (metav1.Object, error) {
			return r.listers.Secrets.Secrets(ns).Get(name)
		},
		func(ctx context.Context, r *Reconciler, ns, name string, body []byte, o metav1.PatchOptions) (metav1.Object, error) {
			return r.kube.CoreV1().Secrets(ns).Patch(ctx, name, types.ApplyPatchType, body, o)
		}},
	"serviceaccounts": {"ServiceAccount",
		func(r *Reconciler, ns, name string) (metav1.Object, error) {
			return r.listers.ServiceAccounts.ServiceAccounts(ns).Get(name)
		},
		func(ctx context.Context, r *Reconciler, ns, name string, body []byte, o metav1.PatchOptions) (metav1.Object, error) {
			return r.kube.CoreV1().ServiceAccounts(ns).Patch(ctx, name, types.ApplyPatchType, body, o)
		}},
	"deployments": {"Deployment",
		func(r *Reconciler, ns, name string) (metav1.Object, error) {
			return r.listers.Deployments.Deployments(ns).Get(name)
		},
		func(ctx context.Context, r *Reconciler, ns, name string, body []byte, o metav1.PatchOptions) (metav1.Object, error) {
			return r.kube.AppsV1().Deployments(ns).Patch(ctx, name, types.ApplyPatchType, body, o)
		}},
	"daemonsets": {"DaemonSet",
		func(r *Reconciler, ns, name string) (metav1.Object, error) {
			return r.listers.DaemonSets.DaemonSets(ns).Get(name)
		},
		func(ctx context.Context, r *Reconciler, ns, name string, body []byte, o metav1.PatchOptions) (metav1.Object, error) {
			return r.kube.AppsV1().DaemonSets(ns).Patch(ctx, name, types.ApplyPatchType, body, o)
		}},
	"services": {"Service",
		func(r *Reconciler, ns, name string) (metav1.Object, error) {
			return r.listers.Services.Services(ns).Get(name)
		},
		func(ctx context.Context, r *Reconciler, ns, name string, body []byte, o metav1.PatchOptions) (metav1.Object, error) {
			return r.kube.CoreV1().Services(ns).Patch(ctx, name, types.ApplyPatchType, body, o)
		}},
}

// apply server-side applies obj unless it is known to be unchanged: the desired content is
// the same as last applied and the live object's resourceVersion is the one that apply
// returned (any other writer, a hand edit for instance, changes it and is reverted).
func (r *Reconciler) apply(ctx context.Context, resource string, obj metav1.Object) error {
	kind, ok := generatedKinds[resource]
	if !ok {
		return fmt.Errorf("apply: unknown resource %s", resource)
	}
	body, err := applyBody(obj)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	ns, name := obj.GetNamespace(), obj.GetName()
	key := resource + "/" + ns + "/" + name
	liveVersion := ""
	live, err := kind.live(r, ns, name)
	switch {
	case err == nil:
		liveVersion = live.GetResourceVersion()
	case !apierrors.IsNotFound(err):
		return fmt.Errorf("reading %s %s/%s from the cache: %w", kind.label, ns, name, err)
	}
	r.mu.Lock()
	last, known := r.applied[key]
	r.mu.Unlock()
	if known && last.hash == hash && liveVersion != "" && last.resourceVersion == liveVersion {
		return nil
	}
	callCtx, cancel := context.WithTimeout(ctx, r.apiTimeout())
	defer cancel()
	stored, err := kind.apply(callCtx, r, ns, name, body, metav1.PatchOptions{FieldManager: fieldManager, Force: ptr.To(true)})
	if err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", kind.label, ns, name, err)
	}
	klog.FromContext(ctx).V(4).Info("Applied generated object", "kind", kind.label, "name", name)
	r.mu.Lock()
	r.applied[key] = appliedObject{hash: hash, resourceVersion: stored.GetResourceVersion()}
	r.mu.Unlock()
	return nil
}

// applyBody encodes obj for server-side apply, without status and empty metadata fields.
func applyBody(obj metav1.Object) ([]byte, error) {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return json.Marshal(m)
}

// defaultAPITimeout bounds a call to the API server when Options.APITimeout is zero.
const defaultAPITimeout = 30 * time.Second

// apiTimeout bounds every call to the API server: a hung API server must not hold a worker
// until shutdown.
func (r *Reconciler) apiTimeout() time.Duration {
	if r.opts.APITimeout > 0 {
		return r.opts.APITimeout
	}
	return defaultAPITimeout
}

// deleteOwned deletes the Gateway's Deployment or DaemonSet named name, if the Gateway controls
// it: switching the parameters' kind leaves one of the other kind behind.
func (r *Reconciler) deleteOwned(ctx context.Context, gw *gatewayv1.Gateway, resource, name string) error {
	var obj metav1.Object
	var err error
	switch resource {
	case "deployments":
		obj, err = r.listers.Deployments.Deployments(gw.Namespace).Get(name)
	case "daemonsets":
		obj, err = r.listers.DaemonSets.DaemonSets(gw.Namespace).Get(name)
	}
	if apierrors.IsNotFound(err) || obj == nil || !metav1.IsControlledBy(obj, gw) {
		return nil
	}
	if err != nil {
		return err
	}
	callCtx, cancel := context.WithTimeout(ctx, r.apiTimeout())
	defer cancel()
	switch resource {
	case "deployments":
		err = r.kube.AppsV1().Deployments(gw.Namespace).Delete(callCtx, name, metav1.DeleteOptions{})
	case "daemonsets":
		err = r.kube.AppsV1().DaemonSets(gw.Namespace).Delete(callCtx, name, metav1.DeleteOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
