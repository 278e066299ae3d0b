package translate

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// grantOption changes a ReferenceGrant built by referenceGrant.
type grantOption func(*gatewayv1.ReferenceGrant)

// referenceGrant is a ReferenceGrant in namespace ns that, unless options change it, lets HTTPRoutes in
// "apps" use every Service of ns.
func referenceGrant(ns string, opts ...grantOption) *gatewayv1.ReferenceGrant {
	g := &gatewayv1.ReferenceGrant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "grant"},
		Spec: gatewayv1.ReferenceGrantSpec{
			From: []gatewayv1.ReferenceGrantFrom{{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: "apps"}},
			To:   []gatewayv1.ReferenceGrantTo{{Group: "", Kind: "Service"}},
		},
	}
	for _, o := range opts {
		o(g)
	}
	return g
}

// grantFrom replaces the grant's sources.
func grantFrom(f ...gatewayv1.ReferenceGrantFrom) grantOption {
	return func(g *gatewayv1.ReferenceGrant) { g.Spec.From = f }
}

// grantTo replaces the grant's targets.
func grantTo(t ...gatewayv1.ReferenceGrantTo) grantOption {
	return func(g *gatewayv1.ReferenceGrant) { g.Spec.To = t }
}

// routeToService is a reference from an HTTPRoute in apps to the Service ns/name.
func routeToService(ns, name string) reference {
	return reference{
		fromGroup: gatewayv1.GroupName, fromKind: "HTTPRoute", fromNamespace: "apps",
		toGroup: "", toKind: "Service", toNamespace: ns, toName: name,
	}
}

func TestReferenceAllowed(t *testing.T) {
	gatewayToSecret := reference{
		fromGroup: gatewayv1.GroupName, fromKind: "Gateway", fromNamespace: "infra",
		toGroup: "", toKind: "Secret", toNamespace: "certs", toName: "site-tls",
	}
	tests := []struct {
		name   string
		grants []*gatewayv1.ReferenceGrant
		ref    reference
		want   bool
	}{
		{
			name: "same namespace needs no grant",
			ref:  routeToService("apps", "web"),
			want: true,
		},
		{
			name: "other namespace without any grant",
			ref:  routeToService("shared", "db"),
			want: false,
		},
		{
			name:   "grant without a name admits every object of the kind",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("shared")},
			ref:    routeToService("shared", "db"),
			want:   true,
		},
		{
			name:   "grant with an empty name admits every object of the kind",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("shared", grantTo(gatewayv1.ReferenceGrantTo{Kind: "Service", Name: ptr.To[gatewayv1.ObjectName]("")}))},
			ref:    routeToService("shared", "db"),
			want:   true,
		},
		{
			name:   "grant naming the object",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("shared", grantTo(gatewayv1.ReferenceGrantTo{Kind: "Service", Name: ptr.To[gatewayv1.ObjectName]("db")}))},
			ref:    routeToService("shared", "db"),
			want:   true,
		},
		{
			name:   "grant naming another object",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("shared", grantTo(gatewayv1.ReferenceGrantTo{Kind: "Service", Name: ptr.To[gatewayv1.ObjectName]("cache")}))},
			ref:    routeToService("shared", "db"),
			want:   false,
		},
		{
			name:   "grant for another target kind",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("shared", grantTo(gatewayv1.ReferenceGrantTo{Kind: "Secret"}))},
			ref:    routeToService("shared", "db"),
			want:   false,
		},
		{
			name:   "grant for another target group",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("shared", grantTo(gatewayv1.ReferenceGrantTo{Group: "example.com", Kind: "Service"}))},
			ref:    routeToService("shared", "db"),
			want:   false,
		},
		{
			name:   "grant from another kind",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("shared", grantFrom(gatewayv1.ReferenceGrantFrom{Group: gatewayv1.GroupName, Kind: "GRPCRoute", Namespace: "apps"}))},
			ref:    routeToService("shared", "db"),
			want:   false,
		},
		{
			name:   "grant from another group",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("shared", grantFrom(gatewayv1.ReferenceGrantFrom{Group: "example.com", Kind: "HTTPRoute", Namespace: "apps"}))},
			ref:    routeToService("shared", "db"),
			want:   false,
		},
		{
			name:   "grant from another namespace",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("shared", grantFrom(gatewayv1.ReferenceGrantFrom{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: "team"}))},
			ref:    routeToService("shared", "db"),
			want:   false,
		},
		{
			name:   "grant in the source namespace does not count",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("apps")},
			ref:    routeToService("shared", "db"),
			want:   false,
		},
		{
			name:   "grant in a third namespace does not count",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("tools")},
			ref:    routeToService("shared", "db"),
			want:   false,
		},
		{
			name: "one of several sources and targets matches",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("shared",
				grantFrom(
					gatewayv1.ReferenceGrantFrom{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: "team"},
					gatewayv1.ReferenceGrantFrom{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: "apps"},
				),
				grantTo(
					gatewayv1.ReferenceGrantTo{Kind: "Service", Name: ptr.To[gatewayv1.ObjectName]("cache")},
					gatewayv1.ReferenceGrantTo{Kind: "Service", Name: ptr.To[gatewayv1.ObjectName]("db")},
				))},
			ref:  routeToService("shared", "db"),
			want: true,
		},
		{
			name: "source and target must match within one grant",
			grants: []*gatewayv1.ReferenceGrant{
				referenceGrant("shared", grantTo(gatewayv1.ReferenceGrantTo{Kind: "Secret"})),
				referenceGrant("shared", grantFrom(gatewayv1.ReferenceGrantFrom{Group: gatewayv1.GroupName, Kind: "HTTPRoute", Namespace: "team"})),
			},
			ref:  routeToService("shared", "db"),
			want: false,
		},
		{
			name: "a later grant admits what an earlier one does not",
			grants: []*gatewayv1.ReferenceGrant{
				referenceGrant("tools"),
				referenceGrant("shared", grantTo(gatewayv1.ReferenceGrantTo{Kind: "Service", Name: ptr.To[gatewayv1.ObjectName]("db")})),
			},
			ref:  routeToService("shared", "db"),
			want: true,
		},
		{
			name: "Gateway to a Secret with a grant naming it",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("certs",
				grantFrom(gatewayv1.ReferenceGrantFrom{Group: gatewayv1.GroupName, Kind: "Gateway", Namespace: "infra"}),
				grantTo(gatewayv1.ReferenceGrantTo{Kind: "Secret", Name: ptr.To[gatewayv1.ObjectName]("site-tls")}))},
			ref:  gatewayToSecret,
			want: true,
		},
		{
			name: "Gateway to a Secret with a grant for HTTPRoutes",
			grants: []*gatewayv1.ReferenceGrant{referenceGrant("certs",
				grantTo(gatewayv1.ReferenceGrantTo{Kind: "Secret"}))},
			ref:  gatewayToSecret,
			want: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := referenceAllowed(tt.grants, tt.ref); got != tt.want {
				t.Errorf("referenceAllowed(%+v) = %v, want %v", tt.ref, got, tt.want)
			}
		})
	}
}
