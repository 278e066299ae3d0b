package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/informers"
	"github.com/khulnasoft/gateway/kengine"
)

// ManagedOptions configure the Kengine deployments the controller runs for Gateways that
// bring no Kengine of their own.
type ManagedOptions struct {
	// Enabled turns managed Kengine on.
	Enabled bool
	// Image is the default Kengine image.
	Image string
	// AdminPort is the mutual-TLS admin port of managed pods.
	AdminPort int
	// PKI issues the admin credentials.
	PKI *AdminPKI
	// NewPusher builds the admin client for one Gateway's pods from its TLS settings.
	NewPusher func(tlsConfig *KengineTLS) (Pusher, error)
}

// KengineTLS is what a managed Gateway's admin client needs.
type KengineTLS struct {
	// Identity is the name the pods' admin certificate carries.
	Identity string
	// Port is the admin port.
	Port int
}

const (
	fieldManager      = "kengine-gateway"
	adminMountPath    = "/etc/kengine/admin"
	stateMountPath    = "/var/lib/kengine"
	adminCAName       = "kengine-admin"
	adminSecretHash   = "kengine.khulnasoft.com/admin-hash"
	maxNameLength     = 63
	kengineContainer  = "kengine"
	bootstrapFileName = "bootstrap.json"
)

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

// ManagedAdminParams describe the admin endpoint of a managed Kengine.
type ManagedAdminParams struct {
	// Identity is the name on the pods' admin certificate (AdminIdentity).
	Identity string
	// Pins are the base64 DER client CA certificates allowed in (AdminPKI.PinnedClientCAs).
	Pins []string
	// RemoteListen is the mutual-TLS admin address, ":2021" in pods.
	RemoteListen string
	// LocalListen is the plain admin address; empty switches the plain endpoint off, which is
	// what the controller does: the mutual-TLS endpoint is then the only admin there is.
	// Tests may set a loopback address to inspect a pod.
	LocalListen string
	// Dir holds root.crt, intermediate.crt and intermediate.key (the admin Secret's mount).
	Dir string
}

// ManagedAdmin returns the admin block and pki app of a managed Gateway: no plain endpoint (a
// plain admin on the pod's loopback would be one ExternalName or rewrite away from any route
// author), the remote endpoint over mutual TLS for the pinned client CAs, allowing exactly the
// calls the controller makes, and an identity issued by the Gateway's intermediate. The
// bootstrap config and every pushed config carry them.
func ManagedAdmin(p ManagedAdminParams) (*kengine.Admin, *kengine.PKIApp) {
	admin := &kengine.Admin{
		Disabled: p.LocalListen == "",
		Listen:   p.LocalListen,
		Identity: &kengine.AdminIdentity{
			Identifiers: []string{p.Identity},
			Issuers:     []json.RawMessage{kengine.InternalIssuer{CA: adminCAName}.RawMessage()},
		},
		Remote: &kengine.RemoteAdmin{
			Listen: p.RemoteListen,
			AccessControl: []kengine.AdminAccess{{
				PublicKeys:  p.Pins,
				Permissions: kengine.ControllerPermissions(),
			}},
		},
	}
	pki := &kengine.PKIApp{CertificateAuthorities: map[string]*kengine.PKICA{adminCAName: {
		Name:         "kengine-gateway admin",
		InstallTrust: ptr.To(false),
		Root:         &kengine.KeyPair{Certificate: path.Join(p.Dir, "root.crt"), Format: "pem_file"},
		Intermediate: &kengine.KeyPair{
			Certificate: path.Join(p.Dir, "intermediate.crt"),
			PrivateKey:  path.Join(p.Dir, "intermediate.key"),
			Format:      "pem_file",
		},
	}}}
	return admin, pki
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
	params     kengineParameters
	adminPort  int
	healthPort int
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

	ports := listenerPorts(gw)
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
				Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}},
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
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: render.ReadyPath, Port: intstr.FromString("health")}},
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
	return out
}

type listenerPort struct {
	name     string
	port     int32
	protocol corev1.Protocol
}

// listenerPorts returns the distinct ports of the Gateway's listeners, sorted.
func listenerPorts(gw *gatewayv1.Gateway) []listenerPort {
	seen := map[string]bool{}
	var out []listenerPort
	for _, l := range gw.Spec.Listeners {
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

// bringsOwnKengine reports whether a Service labelled with the Gateway's name exists that the
// controller did not create: the user runs Kengine themselves.
func (c *Controller) bringsOwnKengine(gw *gatewayv1.Gateway) (bool, error) {
	services, err := c.informers.KengineServicesForGateway(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name})
	if err != nil {
		return false, err
	}
	for _, nn := range services {
		svc, err := c.informers.Services.Services(nn.Namespace).Get(nn.Name)
		if err != nil {
			continue
		}
		if !metav1.IsControlledBy(svc, gw) {
			return true, nil
		}
	}
	return false, nil
}

// managedState remembers, per generated object, what the controller last applied, so that an
// unchanged object is not written again.
type managedState struct {
	mu      sync.Mutex
	applied map[string]appliedObject
	pushers map[types.NamespacedName]Pusher
}

type appliedObject struct {
	hash            string
	resourceVersion string
}

// reconcileManaged brings the Gateway's generated objects to their desired state and returns
// the admin settings its configs must carry and the client that reaches its pods.
func (c *Controller) reconcileManaged(ctx context.Context, gw *gatewayv1.Gateway, class *gatewayv1.GatewayClass, params kengineParameters) (render.Options, Pusher, error) {
	ropts, pusher, adminData, err := c.reconcileAdmin(ctx, gw, class)
	if err != nil {
		return ropts, nil, err
	}
	objs := desiredManagedObjects(managedInput{
		gateway: gw, class: string(class.Name), params: params,
		adminPort: c.opts.Managed.AdminPort, healthPort: c.opts.Render.HealthPort, adminData: adminData,
	})
	if err := c.apply(ctx, "serviceaccounts", objs.serviceAccount); err != nil {
		return ropts, nil, err
	}
	name := managedName(gw.Name, string(class.Name))
	if objs.deployment != nil {
		if err := c.apply(ctx, "deployments", objs.deployment); err != nil {
			return ropts, nil, err
		}
		if err := c.deleteOwned(ctx, gw, "daemonsets", name); err != nil {
			return ropts, nil, err
		}
	} else {
		if err := c.apply(ctx, "daemonsets", objs.daemonSet); err != nil {
			return ropts, nil, err
		}
		if err := c.deleteOwned(ctx, gw, "deployments", name); err != nil {
			return ropts, nil, err
		}
	}
	if err := c.apply(ctx, "services", objs.service); err != nil {
		return ropts, nil, err
	}
	return ropts, pusher, nil
}

// reconcileAdmin applies the Gateway's admin Secret (root, intermediate, bootstrap config) and
// returns the admin settings and client for its pods. Managed Gateways mount the Secret in the
// pods the controller runs; bring-your-own Kengine mounts it in the user's pods, which gives
// them the same mutual TLS without any setup.
func (c *Controller) reconcileAdmin(ctx context.Context, gw *gatewayv1.Gateway, class *gatewayv1.GatewayClass) (render.Options, Pusher, map[string][]byte, error) {
	mo := c.opts.Managed
	identity := AdminIdentity(gw.Namespace, gw.Name)
	admin, pki := ManagedAdmin(ManagedAdminParams{
		Identity: identity, Pins: mo.PKI.PinnedClientCAs(),
		RemoteListen: fmt.Sprintf(":%d", mo.AdminPort), Dir: adminMountPath,
	})
	ropts := c.opts.Render
	ropts.Admin, ropts.PKI = admin, pki
	adminData, err := c.adminSecretData(gw, class, identity, admin, pki)
	if err != nil {
		return ropts, nil, nil, err
	}
	secret := desiredManagedObjects(managedInput{gateway: gw, class: string(class.Name), params: kengineParameters{kind: "Deployment"}, adminData: adminData}).secret
	if err := c.apply(ctx, "secrets", secret); err != nil {
		return ropts, nil, nil, err
	}
	pusher, err := c.managedPusher(types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}, identity)
	return ropts, pusher, adminData, err
}

// adminSecretData keeps the Gateway's intermediate while it is valid and refreshes the
// bootstrap config (whose pins change when the client CA rotates).
func (c *Controller) adminSecretData(gw *gatewayv1.Gateway, class *gatewayv1.GatewayClass, identity string, admin *kengine.Admin, pki *kengine.PKIApp) (map[string][]byte, error) {
	mo := c.opts.Managed
	name := managedName(gw.Name, string(class.Name)) + informers.AdminSecretSuffix
	var certPEM, keyPEM []byte
	if existing, err := c.informers.Secrets.Secrets(gw.Namespace).Get(name); err == nil && mo.PKI.IntermediateValid(existing.Data["intermediate.crt"], identity) {
		certPEM, keyPEM = existing.Data["intermediate.crt"], existing.Data["intermediate.key"]
	} else {
		var ierr error
		if certPEM, keyPEM, ierr = mo.PKI.GatewayIntermediate(identity); ierr != nil {
			return nil, ierr
		}
	}
	boot := kengine.Config{Admin: admin, Apps: kengine.Apps{PKI: pki}}
	bootJSON, err := boot.Marshal()
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		"root.crt": mo.PKI.RootPEM(), "intermediate.crt": certPEM, "intermediate.key": keyPEM, bootstrapFileName: bootJSON,
	}, nil
}

func (c *Controller) managedPusher(key types.NamespacedName, identity string) (Pusher, error) {
	c.managed.mu.Lock()
	defer c.managed.mu.Unlock()
	if p, ok := c.managed.pushers[key]; ok {
		return p, nil
	}
	p, err := c.opts.Managed.NewPusher(&KengineTLS{Identity: identity, Port: c.opts.Managed.AdminPort})
	if err != nil {
		return nil, err
	}
	c.managed.pushers[key] = p
	return p, nil
}

// forgetManaged drops the per-Gateway state of a deleted Gateway; its objects go with it
// through their owner references.
func (c *Controller) forgetManaged(key types.NamespacedName) {
	c.managed.mu.Lock()
	defer c.managed.mu.Unlock()
	delete(c.managed.pushers, key)
	prefix := "/" + key.Namespace + "/"
	for k := range c.managed.applied {
		if strings.Contains(k, prefix) {
			delete(c.managed.applied, k)
		}
	}
}

// generatedKind reads and server-side applies one kind of generated object.
type generatedKind struct {
	// label names the kind in errors.
	label string
	// live reads the object from the informer cache.
	live func(c *Controller, ns, name string) (metav1.Object, error)
	// apply sends an apply patch and returns the stored object.
	apply func(ctx context.Context, c *Controller, ns, name string, body []byte, opts metav1.PatchOptions) (metav1.Object, error)
}

var generatedKinds = map[string]generatedKind{
	"secrets": {"Secret",
		func(c *Controller, ns, name string) (metav1.Object, error) {
			return c.informers.Secrets.Secrets(ns).Get(name)
		},
		func(ctx context.Context, c *Controller, ns, name string, body []byte, o metav1.PatchOptions) (metav1.Object, error) {
			return c.kube.CoreV1().Secrets(ns).Patch(ctx, name, types.ApplyPatchType, body, o)
		}},
	"serviceaccounts": {"ServiceAccount",
		func(c *Controller, ns, name string) (metav1.Object, error) {
			return c.informers.Managed.ServiceAccounts.ServiceAccounts(ns).Get(name)
		},
		func(ctx context.Context, c *Controller, ns, name string, body []byte, o metav1.PatchOptions) (metav1.Object, error) {
			return c.kube.CoreV1().ServiceAccounts(ns).Patch(ctx, name, types.ApplyPatchType, body, o)
		}},
	"deployments": {"Deployment",
		func(c *Controller, ns, name string) (metav1.Object, error) {
			return c.informers.Managed.Deployments.Deployments(ns).Get(name)
		},
		func(ctx context.Context, c *Controller, ns, name string, body []byte, o metav1.PatchOptions) (metav1.Object, error) {
			return c.kube.AppsV1().Deployments(ns).Patch(ctx, name, types.ApplyPatchType, body, o)
		}},
	"daemonsets": {"DaemonSet",
		func(c *Controller, ns, name string) (metav1.Object, error) {
			return c.informers.Managed.DaemonSets.DaemonSets(ns).Get(name)
		},
		func(ctx context.Context, c *Controller, ns, name string, body []byte, o metav1.PatchOptions) (metav1.Object, error) {
			return c.kube.AppsV1().DaemonSets(ns).Patch(ctx, name, types.ApplyPatchType, body, o)
		}},
	"services": {"Service",
		func(c *Controller, ns, name string) (metav1.Object, error) {
			return c.informers.Services.Services(ns).Get(name)
		},
		func(ctx context.Context, c *Controller, ns, name string, body []byte, o metav1.PatchOptions) (metav1.Object, error) {
			return c.kube.CoreV1().Services(ns).Patch(ctx, name, types.ApplyPatchType, body, o)
		}},
}

// apply server-side applies obj unless it is known to be unchanged: the desired content is
// the same as last applied and the live object's resourceVersion is the one that apply
// returned (any other writer, a hand edit for instance, changes it and is reverted).
func (c *Controller) apply(ctx context.Context, resource string, obj metav1.Object) error {
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
	if live, err := kind.live(c, ns, name); err == nil {
		liveVersion = live.GetResourceVersion()
	}
	c.managed.mu.Lock()
	last, known := c.managed.applied[key]
	c.managed.mu.Unlock()
	if known && last.hash == hash && liveVersion != "" && last.resourceVersion == liveVersion {
		return nil
	}
	stored, err := kind.apply(ctx, c, ns, name, body, metav1.PatchOptions{FieldManager: fieldManager, Force: ptr.To(true)})
	if err != nil {
		return fmt.Errorf("applying %s %s/%s: %w", kind.label, ns, name, err)
	}
	klog.FromContext(ctx).V(2).Info("Applied generated object", "kind", kind.label, "name", name)
	c.managed.mu.Lock()
	c.managed.applied[key] = appliedObject{hash: hash, resourceVersion: stored.GetResourceVersion()}
	c.managed.mu.Unlock()
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

func (c *Controller) deleteOwned(ctx context.Context, gw *gatewayv1.Gateway, resource, name string) error {
	var obj metav1.Object
	var err error
	switch resource {
	case "deployments":
		obj, err = c.informers.Managed.Deployments.Deployments(gw.Namespace).Get(name)
	case "daemonsets":
		obj, err = c.informers.Managed.DaemonSets.DaemonSets(gw.Namespace).Get(name)
	}
	if apierrors.IsNotFound(err) || obj == nil || !metav1.IsControlledBy(obj, gw) {
		return nil
	}
	if err != nil {
		return err
	}
	switch resource {
	case "deployments":
		err = c.kube.AppsV1().Deployments(gw.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	case "daemonsets":
		err = c.kube.AppsV1().DaemonSets(gw.Namespace).Delete(ctx, name, metav1.DeleteOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
