package managed

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Keys of the parameters ConfigMap that a GatewayClass (spec.parametersRef) or a Gateway
// (spec.infrastructure.parametersRef) may point to. The Gateway's values override the class's.
const (
	// ParamImage is the Kengine container image.
	ParamImage = "image"
	// ParamReplicas is the number of Kengine pods of a Deployment (at least 1).
	ParamReplicas = "replicas"
	// ParamServiceType is the type of the Gateway's Service: LoadBalancer (default),
	// NodePort or ClusterIP.
	ParamServiceType = "serviceType"
	// ParamResources is the Kengine container's resources, as YAML or JSON
	// ({"requests": {"cpu": "100m"}, "limits": {"memory": "256Mi"}}).
	ParamResources = "resources"
	// ParamKind runs Kengine as a Deployment (default) or a DaemonSet.
	ParamKind = "kind"
	// ParamAllowExternalNameBackends ("true" or "false", default false) lets routes use
	// Services of type ExternalName as backends. Only the GatewayClass's ConfigMap may set it:
	// it is the cluster admin's decision, because an ExternalName lets a route author point
	// the proxy at any name. Even then, a name is resolved by the controller and refused when
	// it resolves to loopback, link-local, metadata or the proxy's own addresses.
	ParamAllowExternalNameBackends = "allowExternalNameBackends"
	// ParamSysctls adds sysctls to the Kengine pods, as YAML or JSON (name: value). The
	// kubelet admits only the safe ones unless it runs with --allowed-unsafe-sysctls. The one
	// worth setting is net.ipv4.tcp_migrate_req: "1": when Kengine loads a new config it opens
	// new listening sockets (SO_REUSEPORT) and closes the old ones, and without it the kernel
	// resets connections still waiting in the old sockets' accept queues (README, "Zero-loss
	// changes").
	ParamSysctls = "sysctls"
)

// sysctlName is what the API server accepts as a sysctl name (dots or slashes between parts).
var sysctlName = regexp.MustCompile(`^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`)

// Parameters are the resolved options of a Gateway's Kengine: the defaults, overlaid by the
// GatewayClass's ConfigMap, then by the Gateway's. Only the managed objects read the
// unexported ones.
type Parameters struct {
	// AllowExternalNameBackends admits ExternalName Services as backends (set by the
	// GatewayClass's ConfigMap only).
	AllowExternalNameBackends bool
	// ListenerSetListeners are the listeners the Gateway serves from its ListenerSets; the
	// Service exposes their ports next to the Gateway's own. The controller sets them after
	// translation; no ConfigMap does.
	ListenerSetListeners []gatewayv1.Listener

	image       string
	replicas    int32
	serviceType corev1.ServiceType
	resources   corev1.ResourceRequirements
	kind        string
	sysctls     []corev1.Sysctl // sorted by name
}

// ParametersError is an invalid or missing parameters reference; the controller reports it
// with the InvalidParameters reason and never retries it. Check for it with errors.As.
type ParametersError struct{ msg string }

// Error returns the message that goes into the Accepted condition.
func (e *ParametersError) Error() string { return e.msg }

func invalidParameters(format string, args ...any) error {
	return &ParametersError{msg: fmt.Sprintf(format, args...)}
}

// applyParameters overlays one ConfigMap on p. Unknown keys are errors: a typo must not be
// silently ignored. fromClass is true for the GatewayClass's ConfigMap, which alone may set
// the keys that widen what route authors can do.
func applyParameters(p *Parameters, cm *corev1.ConfigMap, fromClass bool) error {
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(cm.Data[k])
		switch k {
		case ParamImage:
			if v == "" {
				return invalidParameters("ConfigMap %s/%s: %s is empty", cm.Namespace, cm.Name, k)
			}
			p.image = v
		case ParamReplicas:
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n < 1 {
				return invalidParameters("ConfigMap %s/%s: %s must be an integer of at least 1, got %q", cm.Namespace, cm.Name, k, v)
			}
			p.replicas = int32(n)
		case ParamServiceType:
			switch t := corev1.ServiceType(v); t {
			case corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort, corev1.ServiceTypeClusterIP:
				p.serviceType = t
			default:
				return invalidParameters("ConfigMap %s/%s: %s must be LoadBalancer, NodePort or ClusterIP, got %q", cm.Namespace, cm.Name, k, v)
			}
		case ParamResources:
			var r corev1.ResourceRequirements
			dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(v)), 4096)
			if err := dec.Decode(&r); err != nil {
				return invalidParameters("ConfigMap %s/%s: %s: %v", cm.Namespace, cm.Name, k, err)
			}
			for name, q := range r.Limits {
				if req, ok := r.Requests[name]; ok && req.Cmp(q) > 0 {
					return invalidParameters("ConfigMap %s/%s: %s: request of %s exceeds its limit", cm.Namespace, cm.Name, k, name)
				}
			}
			p.resources = r
		case ParamKind:
			if v != "Deployment" && v != "DaemonSet" {
				return invalidParameters("ConfigMap %s/%s: %s must be Deployment or DaemonSet, got %q", cm.Namespace, cm.Name, k, v)
			}
			p.kind = v
		case ParamAllowExternalNameBackends:
			if !fromClass {
				return invalidParameters("ConfigMap %s/%s: %s may only be set in the GatewayClass's parameters", cm.Namespace, cm.Name, k)
			}
			b, err := strconv.ParseBool(v)
			if err != nil {
				return invalidParameters("ConfigMap %s/%s: %s must be true or false, got %q", cm.Namespace, cm.Name, k, v)
			}
			p.AllowExternalNameBackends = b
		case ParamSysctls:
			sysctls, err := parseSysctls(v)
			if err != nil {
				return invalidParameters("ConfigMap %s/%s: %s: %v", cm.Namespace, cm.Name, k, err)
			}
			p.sysctls = sysctls
		default:
			return invalidParameters("ConfigMap %s/%s: unknown key %q (known: image, replicas, serviceType, resources, kind, allowExternalNameBackends, sysctls)", cm.Namespace, cm.Name, k)
		}
	}
	return nil
}

// parseSysctls reads the sysctls parameter: a map of sysctl names to values, sorted by name.
func parseSysctls(v string) ([]corev1.Sysctl, error) {
	var m map[string]string
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(v)), 4096)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("want a map of sysctl names to values: %v", err)
	}
	out := make([]corev1.Sysctl, 0, len(m))
	for name, val := range m {
		if len(name) > 253 || !sysctlName.MatchString(name) {
			return nil, fmt.Errorf("%q is not a sysctl name", name)
		}
		if name == unprivilegedPortStart {
			return nil, fmt.Errorf("%s is set by the controller (listeners below 1024 without capabilities)", name)
		}
		if val == "" {
			return nil, fmt.Errorf("sysctl %s has no value", name)
		}
		out = append(out, corev1.Sysctl{Name: name, Value: val})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// classParametersRef returns the class's ConfigMap reference, or an error for references
// this controller cannot use.
func classParametersRef(gc *gatewayv1.GatewayClass) (ns, name string, ok bool, err error) {
	ref := gc.Spec.ParametersRef
	if ref == nil {
		return "", "", false, nil
	}
	if ref.Group != "" || ref.Kind != "ConfigMap" {
		return "", "", false, invalidParameters("parametersRef must be a core ConfigMap, got %s/%s", ref.Group, ref.Kind)
	}
	if ref.Namespace == nil || *ref.Namespace == "" {
		return "", "", false, invalidParameters("parametersRef to ConfigMap %s needs a namespace", ref.Name)
	}
	return string(*ref.Namespace), ref.Name, true, nil
}

// ResolveParameters merges the defaults, the class's ConfigMap and the Gateway's ConfigMap
// (gw may be nil). A reference or value the controller cannot use is a *ParametersError;
// any other error is worth a retry.
func (r *Reconciler) ResolveParameters(gc *gatewayv1.GatewayClass, gw *gatewayv1.Gateway) (Parameters, error) {
	p := Parameters{image: r.opts.Image, replicas: 1, serviceType: corev1.ServiceTypeLoadBalancer, kind: "Deployment"}
	if err := r.overlayClassParameters(&p, gc); err != nil {
		return p, err
	}
	if gw != nil && gw.Spec.Infrastructure != nil && gw.Spec.Infrastructure.ParametersRef != nil {
		ref := gw.Spec.Infrastructure.ParametersRef
		if ref.Group != "" || ref.Kind != "ConfigMap" {
			return p, invalidParameters("spec.infrastructure.parametersRef must be a core ConfigMap, got %s/%s", ref.Group, ref.Kind)
		}
		cm, err := r.listers.ConfigMaps.ConfigMaps(gw.Namespace).Get(ref.Name)
		if apierrors.IsNotFound(err) {
			return p, invalidParameters("ConfigMap %s/%s (spec.infrastructure.parametersRef) not found", gw.Namespace, ref.Name)
		}
		if err != nil {
			return p, err
		}
		if err := applyParameters(&p, cm, false); err != nil {
			return p, err
		}
	}
	return p, nil
}

// ClassParameters returns what the GatewayClass's own ConfigMap sets, with no defaults; the
// controller checks it to accept the class. Errors are as for ResolveParameters.
func (r *Reconciler) ClassParameters(gc *gatewayv1.GatewayClass) (Parameters, error) {
	var p Parameters
	err := r.overlayClassParameters(&p, gc)
	return p, err
}

// overlayClassParameters applies the GatewayClass's ConfigMap, if it names one, to p.
func (r *Reconciler) overlayClassParameters(p *Parameters, gc *gatewayv1.GatewayClass) error {
	ns, name, ok, err := classParametersRef(gc)
	if err != nil || !ok {
		return err
	}
	cm, err := r.listers.ConfigMaps.ConfigMaps(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return invalidParameters("ConfigMap %s/%s (GatewayClass parametersRef) not found", ns, name)
	}
	if err != nil {
		return err
	}
	return applyParameters(p, cm, true)
}
