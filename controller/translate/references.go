package translate

import (
	"k8s.io/apimachinery/pkg/types"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// reference is one object pointing at another, as ReferenceGrants describe it.
type reference struct {
	fromGroup, fromKind, fromNamespace   string
	toGroup, toKind, toNamespace, toName string
}

// referenceAllowed reports whether a reference may cross namespaces: references inside one
// namespace always may; others need a ReferenceGrant in the target namespace that names the
// source (group, kind, namespace) and the target (group, kind, and name if given).
func referenceAllowed(grants []*gatewayv1.ReferenceGrant, ref reference) bool {
	if ref.fromNamespace == ref.toNamespace {
		return true
	}
	for _, g := range grants {
		if g.Namespace != ref.toNamespace {
			continue
		}
		fromOK := false
		for _, f := range g.Spec.From {
			if string(f.Group) == ref.fromGroup && string(f.Kind) == ref.fromKind && string(f.Namespace) == ref.fromNamespace {
				fromOK = true
				break
			}
		}
		if !fromOK {
			continue
		}
		for _, t := range g.Spec.To {
			if string(t.Group) == ref.toGroup && string(t.Kind) == ref.toKind &&
				(t.Name == nil || *t.Name == "" || string(*t.Name) == ref.toName) {
				return true
			}
		}
	}
	return false
}

// gatewayReference resolves a reference the Gateway makes to a core object of kind (a
// certificate Secret, a CA ConfigMap) to the object's namespace/name, and reports whether the
// ReferenceGrants let the Gateway use it. An empty namespace is the Gateway's own.
func (t *translator) gatewayReference(kind string, namespace *gatewayv1.Namespace, name gatewayv1.ObjectName) (types.NamespacedName, bool) {
	return t.coreReference(KindGateway, t.s.Gateway.Namespace, kind, namespace, name)
}

// coreReference resolves a reference that an object of kind from in namespace home (a Gateway,
// a ListenerSet) makes to a core object of kind, and reports whether the ReferenceGrants allow
// it. An empty namespace is home.
func (t *translator) coreReference(from gatewayv1.Kind, home, kind string, namespace *gatewayv1.Namespace, name gatewayv1.ObjectName) (types.NamespacedName, bool) {
	nn := types.NamespacedName{Namespace: home, Name: string(name)}
	if namespace != nil && *namespace != "" {
		nn.Namespace = string(*namespace)
	}
	return nn, referenceAllowed(t.s.ReferenceGrants, reference{
		fromGroup: gatewayv1.GroupName, fromKind: string(from), fromNamespace: home,
		toGroup: "", toKind: kind, toNamespace: nn.Namespace, toName: nn.Name,
	})
}
