package managed

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/khulnasoft/gateway/controller/addresses"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// testReadyPath and testHealthPort stand for the readiness route the controller renders.
const (
	testReadyPath  = "/kengine-gateway/ready"
	testHealthPort = 19080
)

func TestManagedName(t *testing.T) {
	if got := managedName("gw", "kengine"); got != "gw-kengine" {
		t.Errorf("short name = %q", got)
	}
	long := strings.Repeat("a", 60)
	got := managedName(long, "kengine")
	if len(got) > 63 || !strings.HasPrefix(got, long[:40]) || got == managedName(long+"b", "kengine") {
		t.Errorf("long name = %q (%d chars) must fit a DNS label, keep a readable prefix and stay unique", got, len(got))
	}
}

// managedGateway has two listeners on one port, a TLS listener and infrastructure labels and
// annotations.
func managedGateway() *gatewayv1.Gateway {
	return &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: "infra", Name: "gw", Generation: 3, UID: "gw-uid"},
		Spec: gatewayv1.GatewaySpec{
			GatewayClassName: "kengine",
			Listeners: []gatewayv1.Listener{
				{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80},
				{Name: "https", Protocol: gatewayv1.HTTPSProtocolType, Port: 443, TLS: &gatewayv1.ListenerTLSConfig{
					Mode:            ptr.To(gatewayv1.TLSModeTerminate),
					CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "cert"}},
				}},
				{Name: "http-again", Protocol: gatewayv1.HTTPProtocolType, Port: 80, Hostname: ptr.To(gatewayv1.Hostname("a.example.com"))},
			},
			Infrastructure: &gatewayv1.GatewayInfrastructure{
				Labels:      map[gatewayv1.LabelKey]gatewayv1.LabelValue{"team": "edge"},
				Annotations: map[gatewayv1.AnnotationKey]gatewayv1.AnnotationValue{"example.com/owner": "edge"},
			},
		},
	}
}

func TestDesiredManagedObjectsGolden(t *testing.T) {
	for _, kind := range []string{"Deployment", "DaemonSet"} {
		t.Run(kind, func(t *testing.T) {
			objs := desiredManagedObjects(managedInput{
				gateway: managedGateway(), class: "kengine",
				params:    Parameters{image: "ghcr.io/khulnasoft/kengine:v2", replicas: 2, serviceType: corev1.ServiceTypeLoadBalancer, kind: kind},
				adminPort: 2021, healthPort: testHealthPort, readyPath: testReadyPath,
				adminData: map[string][]byte{"root.crt": []byte("ROOT"), "intermediate.crt": []byte("INTER"), "intermediate.key": []byte("KEY"), "bootstrap.json": []byte("{}")},
			})
			var buf bytes.Buffer
			workload := runtime.Object(objs.deployment)
			if kind == "DaemonSet" {
				workload = objs.daemonSet
			}
			for _, o := range []runtime.Object{objs.serviceAccount, objs.secret, workload, objs.service} {
				data, err := yaml.Marshal(o)
				if err != nil {
					t.Fatal(err)
				}
				buf.WriteString("---\n")
				buf.Write(data)
			}
			golden := filepath.Join("testdata", "managed-"+strings.ToLower(kind)+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(want, buf.Bytes()) {
				t.Errorf("generated objects differ from %s; rerun with -update and review the diff", golden)
			}
		})
	}
}

func TestDeploymentSelectorIgnoresInfrastructureLabels(t *testing.T) {
	objs := desiredManagedObjects(managedInput{gateway: managedGateway(), class: "kengine",
		params: Parameters{image: "x", replicas: 1, serviceType: corev1.ServiceTypeLoadBalancer, kind: "Deployment"}, adminPort: 2021, healthPort: testHealthPort, readyPath: testReadyPath})
	var d *appsv1.Deployment = objs.deployment
	if _, ok := d.Spec.Selector.MatchLabels["team"]; ok {
		t.Error("infrastructure labels must not enter the immutable selector")
	}
	if d.Labels["team"] != "edge" || d.Spec.Template.Labels["team"] != "edge" || objs.service.Annotations["example.com/owner"] != "edge" {
		t.Error("infrastructure labels and annotations must reach the generated objects")
	}
}

// The Service and the pods expose the ports of the listeners the Gateway serves from its
// ListenerSets next to its own, once each.
func TestServiceExposesListenerSetPorts(t *testing.T) {
	params := Parameters{image: "x", replicas: 1, serviceType: corev1.ServiceTypeLoadBalancer, kind: "Deployment",
		ListenerSetListeners: []gatewayv1.Listener{
			{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80},
			{Name: "api", Protocol: gatewayv1.HTTPProtocolType, Port: 8080},
			{Name: "dns", Protocol: gatewayv1.UDPProtocolType, Port: 53},
		}}
	objs := desiredManagedObjects(managedInput{gateway: managedGateway(), class: "kengine", params: params,
		adminPort: 2021, healthPort: testHealthPort, readyPath: testReadyPath})
	var got []string
	for _, p := range objs.service.Spec.Ports {
		got = append(got, p.Name)
	}
	if want := "udp-53,tcp-80,tcp-443,tcp-8080"; strings.Join(got, ",") != want {
		t.Errorf("service ports = %v, want %s", got, want)
	}
}

// Sysctls from the parameters follow the one the controller always sets, in name order.
func TestPodSysctlsFromParameters(t *testing.T) {
	params := Parameters{image: "x", replicas: 1, serviceType: corev1.ServiceTypeLoadBalancer, kind: "Deployment",
		sysctls: []corev1.Sysctl{{Name: "net.ipv4.tcp_migrate_req", Value: "1"}}}
	objs := desiredManagedObjects(managedInput{gateway: managedGateway(), class: "kengine", params: params,
		adminPort: 2021, healthPort: testHealthPort, readyPath: testReadyPath})
	got := objs.deployment.Spec.Template.Spec.SecurityContext.Sysctls
	want := []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}, {Name: "net.ipv4.tcp_migrate_req", Value: "1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sysctls = %v, want %v", got, want)
	}
}

// spec.addresses reaches the Service as a request to its load balancer: every static IP in the
// annotation, a lone one in spec.loadBalancerIP too; entries without a value, and Services
// without a load balancer, ask for nothing.
func TestServiceRequestsStaticAddresses(t *testing.T) {
	tests := []struct {
		name           string
		serviceType    corev1.ServiceType
		spec           []gatewayv1.GatewaySpecAddress
		wantAnnotation string
		wantIP         string
	}{
		{"none", corev1.ServiceTypeLoadBalancer, nil, "", ""},
		{"one", corev1.ServiceTypeLoadBalancer, []gatewayv1.GatewaySpecAddress{{Value: "127.0.100.200"}}, "127.0.100.200", "127.0.100.200"},
		{"two", corev1.ServiceTypeLoadBalancer, []gatewayv1.GatewaySpecAddress{{Value: "127.0.99.1"}, {Value: "127.0.100.200"}}, "127.0.99.1,127.0.100.200", ""},
		{"empty value", corev1.ServiceTypeLoadBalancer, []gatewayv1.GatewaySpecAddress{{Type: ptr.To(gatewayv1.IPAddressType)}}, "", ""},
		{"no load balancer", corev1.ServiceTypeClusterIP, []gatewayv1.GatewaySpecAddress{{Value: "127.0.100.200"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := managedGateway()
			gw.Spec.Addresses = tt.spec
			objs := desiredManagedObjects(managedInput{gateway: gw, class: "kengine",
				params:    Parameters{image: "x", replicas: 1, serviceType: tt.serviceType, kind: "Deployment"},
				adminPort: 2021, healthPort: testHealthPort, readyPath: testReadyPath})
			svc := objs.service
			got, ok := svc.Annotations[addresses.ServiceAnnotation]
			if got != tt.wantAnnotation || ok != (tt.wantAnnotation != "") || svc.Spec.LoadBalancerIP != tt.wantIP {
				t.Errorf("annotation %q (set %v), loadBalancerIP %q; want %q, %q", got, ok, svc.Spec.LoadBalancerIP, tt.wantAnnotation, tt.wantIP)
			}
			if svc.Annotations["example.com/owner"] != "edge" {
				t.Error("the infrastructure annotations must stay on the Service")
			}
			if _, leaked := objs.deployment.Annotations[addresses.ServiceAnnotation]; leaked {
				t.Error("the address request must stay on the Service")
			}
		})
	}
}
