package translate

import gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

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
