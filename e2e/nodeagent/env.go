package nodeagent

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	corelisters "k8s.io/client-go/listers/core/v1"
)

// refs reads the ConfigMaps and Secrets a pod refers to, from the informer caches.
type refs struct {
	configMaps corelisters.ConfigMapLister
	secrets    corelisters.SecretLister
}

func (r refs) configMapData(ns, name string) (map[string][]byte, error) {
	cm, err := r.configMaps.ConfigMaps(ns).Get(name)
	if err != nil {
		return nil, err
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return data, nil
}

func (r refs) secretData(ns, name string) (map[string][]byte, error) {
	s, err := r.secrets.Secrets(ns).Get(name)
	if err != nil {
		return nil, err
	}
	return s.Data, nil
}

// fieldValue resolves a downward-API field path of the pod, as kubelet does for env and volumes.
func fieldValue(pod *v1.Pod, podIP, hostIP, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP", "status.podIPs":
		return podIP, nil
	case "status.hostIP", "status.hostIPs":
		return hostIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if rest, ok := strings.CutPrefix(path, prefix+"['"); ok {
			if key, ok := strings.CutSuffix(rest, "']"); ok {
				return m[key], nil
			}
		}
	}
	return "", fmt.Errorf("unsupported field path %q", path)
}

func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, strconv.Quote(m[k]))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// resourceValue resolves a resourceFieldRef against the container's requests and limits; an
// unset limit reports the node's capacity, as kubelet does.
func resourceValue(pod *v1.Pod, defaultContainer string, ref *v1.ResourceFieldSelector, capacity v1.ResourceList) (string, error) {
	name := ref.ContainerName
	if name == "" {
		name = defaultContainer
	}
	var c *v1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			c = &pod.Spec.Containers[i]
		}
	}
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef names unknown container %q", name)
	}
	kind, res, ok := strings.Cut(ref.Resource, ".")
	if !ok {
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	var q resource.Quantity
	var found bool
	switch kind {
	case "limits":
		q, found = c.Resources.Limits[v1.ResourceName(res)]
	case "requests":
		q, found = c.Resources.Requests[v1.ResourceName(res)]
	}
	if !found {
		q, found = capacity[v1.ResourceName(res)]
		if !found {
			q = resource.MustParse("0")
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if res == "cpu" {
		// Cores, rounded up, in units of the divisor.
		return strconv.FormatInt((q.MilliValue()+divisor.MilliValue()-1)/divisor.MilliValue(), 10), nil
	}
	return strconv.FormatInt((q.Value()+divisor.Value()-1)/divisor.Value(), 10), nil
}

// containerEnv computes a container's environment: the kubernetes Service's variables
// (serviceEnv), the image's, then envFrom, then env, with $(VAR) references expanded as
// Kubernetes does.
func containerEnv(pod *v1.Pod, c *v1.Container, img Image, r refs, serviceEnv []string, podIP, hostIP string, capacity v1.ResourceList) ([]string, error) {
	var order []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
	set("HOSTNAME", pod.Name)
	for _, kv := range slices.Concat(serviceEnv, img.Env) {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	for _, from := range c.EnvFrom {
		var data map[string][]byte
		var err error
		optional := false
		switch {
		case from.ConfigMapRef != nil:
			optional = from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional
			data, err = r.configMapData(pod.Namespace, from.ConfigMapRef.Name)
		case from.SecretRef != nil:
			optional = from.SecretRef.Optional != nil && *from.SecretRef.Optional
			data, err = r.secretData(pod.Namespace, from.SecretRef.Name)
		default:
			continue
		}
		if err != nil {
			if optional && apierrors.IsNotFound(err) {
				continue
			}
			return nil, fmt.Errorf("envFrom: %w", err)
		}
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			set(from.Prefix+k, string(data[k]))
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vals))
			continue
		}
		v, skip, err := envSource(pod, c, e.ValueFrom, r, podIP, hostIP, capacity)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if !skip {
			set(e.Name, v)
		}
	}
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+vals[k])
	}
	return env, nil
}

func envSource(pod *v1.Pod, c *v1.Container, src *v1.EnvVarSource, r refs, podIP, hostIP string, capacity v1.ResourceList) (string, bool, error) {
	switch {
	case src.FieldRef != nil:
		v, err := fieldValue(pod, podIP, hostIP, src.FieldRef.FieldPath)
		return v, false, err
	case src.ResourceFieldRef != nil:
		v, err := resourceValue(pod, c.Name, src.ResourceFieldRef, capacity)
		return v, false, err
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		return keyValue(r.configMapData, pod.Namespace, ref.Name, ref.Key, ref.Optional, "configmap")
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		return keyValue(r.secretData, pod.Namespace, ref.Name, ref.Key, ref.Optional, "secret")
	}
	return "", false, fmt.Errorf("unsupported valueFrom")
}

func keyValue(get func(ns, name string) (map[string][]byte, error), ns, name, key string, optional *bool, kind string) (string, bool, error) {
	opt := optional != nil && *optional
	data, err := get(ns, name)
	if err != nil {
		if opt && apierrors.IsNotFound(err) {
			return "", true, nil
		}
		return "", false, fmt.Errorf("%s %s/%s: %w", kind, ns, name, err)
	}
	v, ok := data[key]
	if !ok {
		if opt {
			return "", true, nil
		}
		return "", false, fmt.Errorf("%s %s/%s has no key %q", kind, ns, name, key)
	}
	return string(v), false, nil
}

// expand replaces $(VAR) with the variable's value when it is defined, turns $$ into $, and
// leaves anything else as written, following Kubernetes' rules for command, args and env.
func expand(s string, vals map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteByte('$')
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vals[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// envMap turns KEY=VALUE pairs into a map, the later value of a key winning.
func envMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
