package managed

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestApplyParameters(t *testing.T) {
	tests := []struct {
		name    string
		data    map[string]string
		want    Parameters
		wantErr string
	}{
		{"all keys", map[string]string{"image": "kengine:1", "replicas": "3", "serviceType": "ClusterIP", "kind": "DaemonSet",
			"resources": "requests:\n  cpu: 100m\nlimits:\n  memory: 128Mi\n"},
			Parameters{image: "kengine:1", replicas: 3, serviceType: corev1.ServiceTypeClusterIP, kind: "DaemonSet"}, ""},
		{"zero replicas", map[string]string{"replicas": "0"}, Parameters{}, "replicas must be an integer of at least 1"},
		{"unknown key", map[string]string{"replica": "2"}, Parameters{}, `unknown key "replica"`},
		{"bad service type", map[string]string{"serviceType": "ExternalName"}, Parameters{}, "serviceType must be"},
		{"bad kind", map[string]string{"kind": "StatefulSet"}, Parameters{}, "kind must be"},
		{"bad resources", map[string]string{"resources": "requests: {cpu: lots}"}, Parameters{}, "resources"},
		{"request above limit", map[string]string{"resources": `{"requests":{"cpu":"2"},"limits":{"cpu":"1"}}`}, Parameters{}, "exceeds its limit"},
		{"sysctls", map[string]string{"sysctls": "net.ipv4.tcp_migrate_req: \"1\"\nnet.core.somaxconn: \"4096\"\n"},
			Parameters{sysctls: []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "4096"}, {Name: "net.ipv4.tcp_migrate_req", Value: "1"}}}, ""},
		{"sysctls not a map", map[string]string{"sysctls": "net.ipv4.tcp_migrate_req=1"}, Parameters{}, "want a map of sysctl names"},
		{"sysctl name", map[string]string{"sysctls": `{"net..ipv4": "1"}`}, Parameters{}, "is not a sysctl name"},
		{"sysctl without value", map[string]string{"sysctls": `{"net.ipv4.tcp_migrate_req": ""}`}, Parameters{}, "has no value"},
		{"sysctl the controller sets", map[string]string{"sysctls": `{"net.ipv4.ip_unprivileged_port_start": "1024"}`}, Parameters{}, "is set by the controller"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Parameters
			err := applyParameters(&p, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "params"}, Data: tt.data}, true)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.image != tt.want.image || p.replicas != tt.want.replicas || p.serviceType != tt.want.serviceType || p.kind != tt.want.kind {
				t.Errorf("parameters = %+v, want %+v", p, tt.want)
			}
			if !reflect.DeepEqual(p.sysctls, tt.want.sysctls) {
				t.Errorf("sysctls = %v, want %v", p.sysctls, tt.want.sysctls)
			}
			if tt.name == "all keys" && p.resources.Requests.Cpu().String() != "100m" {
				t.Errorf("resources = %+v", p.resources)
			}
		})
	}
}

// parametersReconciler is a Reconciler that reads the given ConfigMaps and nothing else.
func parametersReconciler(t *testing.T, cms ...*corev1.ConfigMap) *Reconciler {
	t.Helper()
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	for _, cm := range cms {
		if err := idx.Add(cm); err != nil {
			t.Fatal(err)
		}
	}
	return NewReconciler(nil, Listers{ConfigMaps: corelisters.NewConfigMapLister(idx)}, Options{Image: "kengine:default"})
}

func configMap(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

func classWithParameters(ref *gatewayv1.ParametersReference) *gatewayv1.GatewayClass {
	return &gatewayv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "kengine"}, Spec: gatewayv1.GatewayClassSpec{ParametersRef: ref}}
}

func classRef(name string) *gatewayv1.ParametersReference {
	return &gatewayv1.ParametersReference{Kind: "ConfigMap", Name: name, Namespace: ptr.To(gatewayv1.Namespace("sys"))}
}

func gatewayWithParameters(ref *gatewayv1.LocalParametersReference) *gatewayv1.Gateway {
	gw := &gatewayv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw"}}
	if ref != nil {
		gw.Spec.Infrastructure = &gatewayv1.GatewayInfrastructure{ParametersRef: ref}
	}
	return gw
}

func TestResolveParameters(t *testing.T) {
	defaults := Parameters{image: "kengine:default", replicas: 1, serviceType: corev1.ServiceTypeLoadBalancer, kind: "Deployment"}
	with := func(change func(*Parameters)) Parameters {
		p := defaults
		change(&p)
		return p
	}
	cms := []*corev1.ConfigMap{
		configMap("sys", "class", map[string]string{"image": "kengine:class", "replicas": "2", "allowExternalNameBackends": "true"}),
		configMap("sys", "class-bad", map[string]string{"kind": "StatefulSet"}),
		configMap("infra", "gw", map[string]string{"replicas": "3", "serviceType": "NodePort"}),
		configMap("infra", "gw-widens", map[string]string{"allowExternalNameBackends": "true"}),
	}
	tests := []struct {
		name    string
		class   *gatewayv1.ParametersReference
		gateway *gatewayv1.LocalParametersReference
		want    Parameters
		wantErr string
	}{
		{name: "defaults", want: defaults},
		{name: "class overrides defaults", class: classRef("class"),
			want: with(func(p *Parameters) { p.image, p.replicas, p.AllowExternalNameBackends = "kengine:class", 2, true })},
		{name: "gateway overrides class", class: classRef("class"), gateway: &gatewayv1.LocalParametersReference{Kind: "ConfigMap", Name: "gw"},
			want: with(func(p *Parameters) {
				p.image, p.replicas, p.serviceType, p.AllowExternalNameBackends = "kengine:class", 3, corev1.ServiceTypeNodePort, true
			})},
		{name: "gateway may not allow ExternalName", gateway: &gatewayv1.LocalParametersReference{Kind: "ConfigMap", Name: "gw-widens"},
			wantErr: "may only be set in the GatewayClass's parameters"},
		{name: "invalid class value", class: classRef("class-bad"), wantErr: "kind must be"},
		{name: "missing class ConfigMap", class: classRef("absent"), wantErr: "ConfigMap sys/absent (GatewayClass parametersRef) not found"},
		{name: "class reference of another kind", class: &gatewayv1.ParametersReference{Group: "example.com", Kind: "Params", Name: "p"},
			wantErr: "parametersRef must be a core ConfigMap"},
		{name: "class reference without namespace", class: &gatewayv1.ParametersReference{Kind: "ConfigMap", Name: "class"},
			wantErr: "needs a namespace"},
		{name: "missing gateway ConfigMap", gateway: &gatewayv1.LocalParametersReference{Kind: "ConfigMap", Name: "absent"},
			wantErr: "ConfigMap infra/absent (spec.infrastructure.parametersRef) not found"},
		{name: "gateway reference of another kind", gateway: &gatewayv1.LocalParametersReference{Group: "example.com", Kind: "Params", Name: "p"},
			wantErr: "spec.infrastructure.parametersRef must be a core ConfigMap"},
	}
	r := parametersReconciler(t, cms...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.ResolveParameters(classWithParameters(tt.class), gatewayWithParameters(tt.gateway))
			if tt.wantErr != "" {
				var perr *ParametersError
				if !errors.As(err, &perr) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want a *ParametersError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(Parameters{}),
				cmp.Comparer(func(a, b resource.Quantity) bool { return a.Cmp(b) == 0 })); diff != "" {
				t.Errorf("parameters (-want +got):\n%s", diff)
			}
		})
	}
}

// The GatewayClass is accepted on its own ConfigMap alone: no defaults, no Gateway.
func TestClassParameters(t *testing.T) {
	r := parametersReconciler(t, configMap("sys", "class", map[string]string{"allowExternalNameBackends": "true"}),
		configMap("sys", "bad", map[string]string{"replica": "2"}))
	p, err := r.ClassParameters(classWithParameters(classRef("class")))
	if err != nil {
		t.Fatal(err)
	}
	if !p.AllowExternalNameBackends || p.image != "" || p.replicas != 0 {
		t.Errorf("class parameters = %+v, want only what the ConfigMap sets", p)
	}
	if p, err := r.ClassParameters(classWithParameters(nil)); err != nil || p.AllowExternalNameBackends {
		t.Errorf("a class without parametersRef = %+v, %v; want nothing set and no error", p, err)
	}
	var perr *ParametersError
	if _, err := r.ClassParameters(classWithParameters(classRef("bad"))); !errors.As(err, &perr) {
		t.Errorf("an unknown key = %v, want a *ParametersError", err)
	}
}
