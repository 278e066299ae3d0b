package managed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/addresses"
	"github.com/khulnasoft/gateway/informers"
)

const (
	adminMountPath    = "/etc/kengine/admin"
	stateMountPath    = "/var/lib/kengine"
	adminSecretHash   = "kengine.khulnasoft.com/admin-hash"
	maxNameLength     = 63
	kengineContainer  = "kengine"
	bootstrapFileName = "bootstrap.json"
)

// unprivilegedPortStart is the sysctl that lets Kengine listen below 1024 without capabilities.
const unprivilegedPortStart = "net.ipv4.ip_unprivileged_port_start"

// managedName is "<gateway>-<class>" as GEP-1762 suggests, shortened with a hash suffix when
// it would not fit a DNS label.
func managedName(gateway, class string) string {
	name := gateway + "-" + class
	if len(name) <= maxNameLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return strings.TrimRight(name[:maxNameLength-9], "-.") + "-" + hex.EncodeToString(sum[:4])
}

// managedObjects are the objects generated for one Gateway.
type managedObjects struct {
	serviceAccount *corev1.ServiceAccount
	secret         *corev1.Secret
	deployment     *appsv1.Deployment
	daemonSet      *appsv1.DaemonSet
	service        *corev1.Service
}

// managedInput is everything the generated objects depend on.
type managedInput struct {
	gateway    *gatewayv1.Gateway
	class      string
	params     Parameters
	adminPort  int
	healthPort int
	readyPath  string
	// adminData is the admin Secret's content (root, intermediate, bootstrap config).
	adminData map[string][]byte
}

// desiredManagedObjects builds the generated objects. It is pure: the same input gives the
// same objects, which golden files pin down.
func desiredManagedObjects(in managedInput) managedObjects {
	gw := in.gateway
	name := managedName(gw.Name, in.class)
	selector := map[string]string{
		informers.GatewayNameLabel: gw.Name,
		"app.kubernetes.io/name":   "kengine",
		informers.InstanceLabel:    name,
	}
	labels := map[string]string{}
	var annotations map[string]string
	if infra := gw.Spec.Infrastructure; infra != nil {
		for k, v := range infra.Labels {
			labels[string(k)] = string(v)
		}
		if len(infra.Annotations) > 0 {
			annotations = map[string]string{}
			for k, v := range infra.Annotations {
				annotations[string(k)] = string(v)
			}
		}
	}
	for k, v := range selector { // the selector labels win over infrastructure labels
		labels[k] = v
	}
	// So does managed-by: the controller's informers of generated objects select on it.
	labels[informers.ManagedByLabel] = informers.ManagedByValue
	meta := func(n string) metav1.ObjectMeta {
		return metav1.ObjectMeta{
			Name: n, Namespace: gw.Namespace, Labels: labels, Annotations: annotations,
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: gatewayv1.GroupVersion.String(), Kind: "Gateway", Name: gw.Name, UID: gw.UID, Controller: ptr.To(true),
			}},
		}
	}
	out := managedObjects{}
	out.serviceAccount = &corev1.ServiceAccount{
		TypeMeta:                     metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta:                   meta(name),
		AutomountServiceAccountToken: ptr.To(false),
	}
	out.secret = &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: meta(name + informers.AdminSecretSuffix),
		Type:       corev1.SecretTypeOpaque,
		Data:       in.adminData,
	}

	ports := listenerPorts(append(append([]gatewayv1.Listener{}, gw.Spec.Listeners...), in.params.ListenerSetListeners...))
	var containerPorts []corev1.ContainerPort
	var servicePorts []corev1.ServicePort
	for _, p := range ports {
		containerPorts = append(containerPorts, corev1.ContainerPort{Name: p.name, ContainerPort: p.port, Protocol: p.protocol})
		servicePorts = append(servicePorts, corev1.ServicePort{Name: p.name, Port: p.port, TargetPort: intstr.FromInt32(p.port), Protocol: p.protocol})
	}
	containerPorts = append(containerPorts,
		corev1.ContainerPort{Name: "admin", ContainerPort: int32(in.adminPort), Protocol: corev1.ProtocolTCP},
		corev1.ContainerPort{Name: "health", ContainerPort: int32(in.healthPort), Protocol: corev1.ProtocolTCP})

	templateLabels := map[string]string{}
	for k, v := range labels {
		templateLabels[k] = v
	}
	sum := sha256.Sum256(append(append([]byte{}, in.adminData["root.crt"]...), in.adminData["intermediate.crt"]...))
	templateAnnotations := map[string]string{adminSecretHash: hex.EncodeToString(sum[:8])}
	for k, v := range annotations {
		templateAnnotations[k] = v
	}
	pod := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: templateLabels, Annotations: templateAnnotations},
		Spec: corev1.PodSpec{
			ServiceAccountName:           name,
			AutomountServiceAccountToken: ptr.To(false),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(65532)), RunAsGroup: ptr.To(int64(65532)), FSGroup: ptr.To(int64(65532)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				// Listeners on ports below 1024 without any capability.
				Sysctls: append([]corev1.Sysctl{{Name: unprivilegedPortStart, Value: "0"}}, in.params.sysctls...),
			},
			Containers: []corev1.Container{{
				Name:    kengineContainer,
				Image:   in.params.image,
				Command: []string{"kengine", "run", "--config", path.Join(adminMountPath, bootstrapFileName), "--resume"},
				Env: []corev1.EnvVar{
					{Name: "XDG_CONFIG_HOME", Value: stateMountPath},
					{Name: "XDG_DATA_HOME", Value: stateMountPath},
				},
				Ports: containerPorts,
				// Ready means programmed: the route exists only in controller-pushed config.
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: in.readyPath, Port: intstr.FromString("health")}},
					PeriodSeconds: 2, FailureThreshold: 1, SuccessThreshold: 1, TimeoutSeconds: 1,
				},
				Resources: in.params.resources,
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(true),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "admin", MountPath: adminMountPath, ReadOnly: true},
					{Name: "state", MountPath: stateMountPath},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "admin", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name + informers.AdminSecretSuffix, DefaultMode: ptr.To(int32(0o440))}}},
				{Name: "state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
	}
	sel := &metav1.LabelSelector{MatchLabels: selector}
	if in.params.kind == "DaemonSet" {
		out.daemonSet = &appsv1.DaemonSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "DaemonSet"},
			ObjectMeta: meta(name),
			Spec:       appsv1.DaemonSetSpec{Selector: sel, Template: pod},
		}
	} else {
		out.deployment = &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta(name),
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To(in.params.replicas), Selector: sel, Template: pod,
				// Never fewer programmed pods than asked for during a rollout.
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1)),
				}},
			},
		}
	}
	out.service = &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(name),
		Spec:       corev1.ServiceSpec{Type: in.params.serviceType, Selector: selector, Ports: servicePorts},
	}
	requestAddresses(out.service, addresses.FromSpec(gw.Spec.Addresses))
	return out
}

// requestAddresses asks the Service's load balancer for the static IP addresses of the
// Gateway's spec.addresses. Kubernetes has no portable way to ask for several: the annotation
// addresses.ServiceAnnotation lists them all (the local environment's node agent reads it, and
// it documents the request for any other), and spec.loadBalancerIP, deprecated but still the
// field clouds honour, carries a lone address. An entry without a value asks for nothing: the
// load balancer picks as it always does. Whether the load balancer gave what was asked is read
// back from the Service's status (addresses.Request.Unmet).
func requestAddresses(svc *corev1.Service, req addresses.Request) {
	if len(req.IPs) == 0 || svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return // a ClusterIP or NodePort Service has no load balancer to ask
	}
	annotations := map[string]string{}
	for k, v := range svc.Annotations { // shared with the other generated objects: copy
		annotations[k] = v
	}
	annotations[addresses.ServiceAnnotation] = req.Annotation()
	svc.Annotations = annotations
	if len(req.IPs) == 1 {
		svc.Spec.LoadBalancerIP = req.IPs[0].String()
	}
}

type listenerPort struct {
	name     string
	port     int32
	protocol corev1.Protocol
}

// listenerPorts returns the distinct ports of listeners, sorted.
func listenerPorts(listeners []gatewayv1.Listener) []listenerPort {
	seen := map[string]bool{}
	var out []listenerPort
	for _, l := range listeners {
		proto := corev1.ProtocolTCP
		if l.Protocol == gatewayv1.UDPProtocolType {
			proto = corev1.ProtocolUDP
		}
		key := fmt.Sprintf("%s/%d", proto, l.Port)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, listenerPort{name: fmt.Sprintf("%s-%d", strings.ToLower(string(proto)), l.Port), port: int32(l.Port), protocol: proto})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].port != out[j].port {
			return out[i].port < out[j].port
		}
		return out[i].protocol < out[j].protocol
	})
	return out
}
