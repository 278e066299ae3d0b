package informers

import (
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
)

// Option configures New.
type Option func(*options)

type options struct {
	// controllerSecrets are "namespace/name" keys of Secrets whose data the cache keeps.
	controllerSecrets sets.Set[string]
}

// WithControllerSecret names one of the controller's own Secrets (the admin CA Secret in its
// namespace) whose data the Secret cache keeps, next to certificate and admin Secrets.
func WithControllerSecret(namespace, name string) Option {
	return func(o *options) { o.controllerSecrets.Insert(namespace + "/" + name) }
}

// cacheTransform trims objects before the informers store them. The controller watches every
// Secret in the cluster but needs the data of only a few: without it, the cache would hold a
// copy of every credential in the cluster (service-account tokens, registry passwords, other
// controllers' keys). It also drops what no object needs: managedFields, often the largest part
// of an object, and kubectl's last-applied annotation, which for a Secret repeats its data.
//
// A transform runs on every object the informers receive, in the path that fills the
// notification queue, so it only copies structs and never does I/O.
type cacheTransform struct {
	controllerSecrets sets.Set[string]
}

func newCacheTransform(o options) *cacheTransform {
	return &cacheTransform{controllerSecrets: o.controllerSecrets}
}

// Transform is the cache.TransformFunc of every informer.
//
// client-go (v1.27 and later) hands it the freshly decoded object before anyone else sees it,
// so mutating it in place would be allowed. It copies instead, for two reasons: the same
// function may then be given an object that is already cached (a Replace with existing
// objects, a test seeding an indexer) without racing the readers of that object, and calling
// it twice gives the same result as once, which client-go asks of transforms. The copies are
// shallow: the result shares spec, status and data with its input, which nobody mutates.
// Tombstones are passed through; their object was transformed when it was stored.
func (t *cacheTransform) Transform(obj any) (any, error) {
	switch o := obj.(type) {
	case cache.DeletedFinalStateUnknown:
		return o, nil
	case *corev1.Secret:
		return t.secret(o), nil
	}
	return trimmed(obj), nil
}

// secret keeps the data of the Secrets the controller reads, and only the metadata of the
// others: enough to key, index, map to Gateways and report a wrong type in status.
func (t *cacheTransform) secret(s *corev1.Secret) *corev1.Secret {
	if t.keepsData(s) {
		out := *s
		out.ObjectMeta = trimmedMeta(s.ObjectMeta)
		out.StringData = nil // write-only; never set on objects read from the API
		return &out
	}
	return &corev1.Secret{
		TypeMeta: s.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name:            s.Name,
			Namespace:       s.Namespace,
			UID:             s.UID,
			ResourceVersion: s.ResourceVersion,
			Labels:          s.Labels,
			OwnerReferences: s.OwnerReferences,
		},
		Type: s.Type,
	}
}

// keepsData reports whether the controller reads the Secret's data: listener certificates
// (kubernetes.io/tls, the only type a listener accepts), Gateways' admin Secrets (the
// intermediate is reused while valid) and the controller's own Secrets.
func (t *cacheTransform) keepsData(s *corev1.Secret) bool {
	if s.Type == corev1.SecretTypeTLS || t.controllerSecrets.Has(s.Namespace+"/"+s.Name) {
		return true
	}
	_, ok := adminSecretGateway(s)
	return ok
}

// trimmed returns obj without managedFields and the last-applied annotation: obj itself when
// it has neither, else a shallow copy of it.
func trimmed(obj any) any {
	m, err := meta.Accessor(obj)
	if err != nil || !needsTrim(m.GetManagedFields(), m.GetAnnotations()) {
		return obj
	}
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return obj
	}
	// Every API type is a pointer to a struct that embeds ObjectMeta by value, so copying
	// the struct copies the metadata, and the setters below change only the copy.
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	out := cp.Interface()
	cm, err := meta.Accessor(out)
	if err != nil {
		return obj
	}
	cm.SetManagedFields(nil)
	cm.SetAnnotations(withoutLastApplied(m.GetAnnotations()))
	return out
}

// trimmedMeta returns m without managedFields and the last-applied annotation; the input's
// annotation map is never modified.
func trimmedMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	if !needsTrim(m.ManagedFields, m.Annotations) {
		return m
	}
	m.ManagedFields = nil
	m.Annotations = withoutLastApplied(m.Annotations)
	return m
}

func needsTrim(fields []metav1.ManagedFieldsEntry, annotations map[string]string) bool {
	_, lastApplied := annotations[corev1.LastAppliedConfigAnnotation]
	return fields != nil || lastApplied
}

// withoutLastApplied returns the annotations without kubectl's last-applied copy of the
// object, as a new map when there was one to remove.
func withoutLastApplied(annotations map[string]string) map[string]string {
	if _, ok := annotations[corev1.LastAppliedConfigAnnotation]; !ok {
		return annotations
	}
	out := make(map[string]string, len(annotations)-1)
	for k, v := range annotations {
		if k != corev1.LastAppliedConfigAnnotation {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
