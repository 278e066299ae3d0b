// Package offline runs translate and render on objects read from YAML files, with no cluster:
// `kengine-gateway translate -f FILE...` prints the Kengine config each Gateway would get and
// the status each object would get, from the same code the controller runs.
package offline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/status"
	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/informers"
	"github.com/khulnasoft/gateway/kengine"
)

// Objects are the objects read from the files, by kind.
type Objects struct {
	// Classes by name.
	Classes map[string]*gatewayv1.GatewayClass
	// Gateways in the order they were read.
	Gateways []*gatewayv1.Gateway
	// ListenerSets in the order they were read.
	ListenerSets []*gatewayv1.ListenerSet
	// Routes of every kind, in the order they were read.
	HTTPRoutes []*gatewayv1.HTTPRoute
	GRPCRoutes []*gatewayv1.GRPCRoute
	TLSRoutes  []*gatewayv1.TLSRoute
	TCPRoutes  []*gatewayv1.TCPRoute
	UDPRoutes  []*gatewayv1.UDPRoute
	// BackendTLSPolicies and the ConfigMaps (by namespace/name) their CA references name.
	BackendTLSPolicies []*gatewayv1.BackendTLSPolicy
	ConfigMaps         map[types.NamespacedName]*corev1.ConfigMap
	// Services, EndpointSlices (by their Service), Secrets, Namespaces and ReferenceGrants.
	Services        map[types.NamespacedName]*corev1.Service
	EndpointSlices  map[types.NamespacedName][]*discoveryv1.EndpointSlice
	Secrets         map[types.NamespacedName]*corev1.Secret
	Namespaces      map[string]*corev1.Namespace
	ReferenceGrants []*gatewayv1.ReferenceGrant
	// Skipped counts the objects of kinds translate does not read (Deployments, ConfigMaps...).
	Skipped map[string]int
}

// Load reads every YAML document of r (objects separated by "---"; a document without a kind
// is an error). Objects of kinds translate does not read are counted in Skipped. An object
// without a namespace gets defaultNamespace, as kubectl apply would give it.
func (o *Objects) Load(r io.Reader, defaultNamespace string) error {
	o.init()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var head struct {
			metav1.TypeMeta `json:",inline"`
			Items           []json.RawMessage `json:"items"`
		}
		if err := yaml.Unmarshal(doc, &head); err != nil {
			return err
		}
		if head.Kind == "" {
			continue // a document of comments only
		}
		if head.Kind == "List" || strings.HasSuffix(head.Kind, "List") && head.Items != nil {
			// What `kubectl get -o yaml` prints: the objects are the items.
			for _, item := range head.Items {
				var meta metav1.TypeMeta
				if err := json.Unmarshal(item, &meta); err != nil {
					return err
				}
				if err := o.add(meta.Kind, item, defaultNamespace); err != nil {
					return fmt.Errorf("%s: %w", meta.Kind, err)
				}
			}
			continue
		}
		if err := o.add(head.Kind, doc, defaultNamespace); err != nil {
			return fmt.Errorf("%s: %w", head.Kind, err)
		}
	}
}

func (o *Objects) init() {
	if o.Classes != nil {
		return
	}
	o.Classes = map[string]*gatewayv1.GatewayClass{}
	o.Services = map[types.NamespacedName]*corev1.Service{}
	o.EndpointSlices = map[types.NamespacedName][]*discoveryv1.EndpointSlice{}
	o.Secrets = map[types.NamespacedName]*corev1.Secret{}
	o.Namespaces = map[string]*corev1.Namespace{}
	o.ConfigMaps = map[types.NamespacedName]*corev1.ConfigMap{}
	o.Skipped = map[string]int{}
}

// add decodes one document of the given kind strictly: a misspelt field is an error, as the
// API server's validation would make it.
func (o *Objects) add(kind string, doc []byte, defaultNamespace string) error {
	decode := func(into metav1.Object) error {
		if err := yaml.UnmarshalStrict(doc, into); err != nil {
			return err
		}
		if into.GetNamespace() == "" && kind != "GatewayClass" && kind != "Namespace" {
			into.SetNamespace(defaultNamespace)
		}
		return nil
	}
	nn := func(m metav1.Object) types.NamespacedName {
		return types.NamespacedName{Namespace: m.GetNamespace(), Name: m.GetName()}
	}
	switch kind {
	case "GatewayClass":
		v := &gatewayv1.GatewayClass{}
		if err := decode(v); err != nil {
			return err
		}
		o.Classes[v.Name] = v
	case "Gateway":
		v := &gatewayv1.Gateway{}
		if err := decode(v); err != nil {
			return err
		}
		o.Gateways = append(o.Gateways, v)
	case "ListenerSet":
		v := &gatewayv1.ListenerSet{}
		if err := decode(v); err != nil {
			return err
		}
		o.ListenerSets = append(o.ListenerSets, v)
	case "HTTPRoute":
		v := &gatewayv1.HTTPRoute{}
		if err := decode(v); err != nil {
			return err
		}
		o.HTTPRoutes = append(o.HTTPRoutes, v)
	case "GRPCRoute":
		v := &gatewayv1.GRPCRoute{}
		if err := decode(v); err != nil {
			return err
		}
		o.GRPCRoutes = append(o.GRPCRoutes, v)
	case "TLSRoute":
		v := &gatewayv1.TLSRoute{}
		if err := decode(v); err != nil {
			return err
		}
		o.TLSRoutes = append(o.TLSRoutes, v)
	case "TCPRoute":
		v := &gatewayv1.TCPRoute{}
		if err := decode(v); err != nil {
			return err
		}
		o.TCPRoutes = append(o.TCPRoutes, v)
	case "UDPRoute":
		v := &gatewayv1.UDPRoute{}
		if err := decode(v); err != nil {
			return err
		}
		o.UDPRoutes = append(o.UDPRoutes, v)
	case "BackendTLSPolicy":
		v := &gatewayv1.BackendTLSPolicy{}
		if err := decode(v); err != nil {
			return err
		}
		o.BackendTLSPolicies = append(o.BackendTLSPolicies, v)
	case "ConfigMap":
		v := &corev1.ConfigMap{}
		if err := decode(v); err != nil {
			return err
		}
		o.ConfigMaps[nn(v)] = v
	case "Service":
		v := &corev1.Service{}
		if err := decode(v); err != nil {
			return err
		}
		o.Services[nn(v)] = v
	case "EndpointSlice":
		v := &discoveryv1.EndpointSlice{}
		if err := decode(v); err != nil {
			return err
		}
		key := types.NamespacedName{Namespace: v.Namespace, Name: v.Labels[discoveryv1.LabelServiceName]}
		o.EndpointSlices[key] = append(o.EndpointSlices[key], v)
	case "Secret":
		v := &corev1.Secret{}
		if err := decode(v); err != nil {
			return err
		}
		// kubectl accepts stringData; so does this.
		for k, val := range v.StringData {
			if v.Data == nil {
				v.Data = map[string][]byte{}
			}
			v.Data[k] = []byte(val)
		}
		o.Secrets[nn(v)] = v
	case "Namespace":
		v := &corev1.Namespace{}
		if err := decode(v); err != nil {
			return err
		}
		o.Namespaces[v.Name] = v
	case "ReferenceGrant":
		v := &gatewayv1.ReferenceGrant{}
		if err := decode(v); err != nil {
			return err
		}
		o.ReferenceGrants = append(o.ReferenceGrants, v)
	default:
		o.Skipped[kind]++
	}
	return nil
}

// Snapshot is what translate sees for one Gateway: the ListenerSets that name it as their
// parent, the routes that name it or one of those ListenerSets as a parent, and every other
// object read. The address of every pod of the Gateway is unknown offline, and no
// ExternalName is resolved.
func (o *Objects) Snapshot(gw *gatewayv1.Gateway) *translate.Snapshot {
	s := &translate.Snapshot{
		Class:           o.Classes[string(gw.Spec.GatewayClassName)],
		Gateway:         gw,
		Services:        o.Services,
		EndpointSlices:  o.EndpointSlices,
		Secrets:         o.Secrets,
		Namespaces:      o.Namespaces,
		ReferenceGrants: o.ReferenceGrants,
		ConfigMaps:      o.ConfigMaps,
		ExternalNames:   map[string]translate.ResolvedName{},
	}
	gwKey := types.NamespacedName{Namespace: gw.Namespace, Name: gw.Name}
	sets := map[types.NamespacedName]bool{}
	for _, ls := range o.ListenerSets {
		if parent, ok := status.ListenerSetParent(ls); ok && parent == gwKey {
			s.ListenerSets = append(s.ListenerSets, ls)
			sets[types.NamespacedName{Namespace: ls.Namespace, Name: ls.Name}] = true
		}
	}
	names := func(m metav1.Object, refs []gatewayv1.ParentReference) bool {
		for _, p := range refs {
			if key, ok := status.ParentListenerSet(p, m.GetNamespace()); ok && sets[key] {
				return true
			}
			if status.ParentIsGateway(p, m.GetNamespace(), gw.Namespace, gw.Name) {
				return true
			}
		}
		return false
	}
	for _, r := range o.HTTPRoutes {
		if names(r, r.Spec.ParentRefs) {
			s.HTTPRoutes = append(s.HTTPRoutes, r)
		}
	}
	for _, r := range o.GRPCRoutes {
		if names(r, r.Spec.ParentRefs) {
			s.GRPCRoutes = append(s.GRPCRoutes, r)
		}
	}
	for _, r := range o.TLSRoutes {
		if names(r, r.Spec.ParentRefs) {
			s.TLSRoutes = append(s.TLSRoutes, r)
		}
	}
	for _, r := range o.TCPRoutes {
		if names(r, r.Spec.ParentRefs) {
			s.TCPRoutes = append(s.TCPRoutes, r)
		}
	}
	for _, r := range o.UDPRoutes {
		if names(r, r.Spec.ParentRefs) {
			s.UDPRoutes = append(s.UDPRoutes, r)
		}
	}
	// The policies that target a Service the Gateway's routes use, as the controller's
	// snapshot holds them.
	used := map[types.NamespacedName]bool{}
	for _, r := range s.Routes() {
		for _, svc := range informers.RouteBackendServices(r) {
			used[svc] = true
		}
	}
	for _, p := range o.BackendTLSPolicies {
		for _, ref := range p.Spec.TargetRefs {
			if ref.Group == "" && ref.Kind == "Service" && used[types.NamespacedName{Namespace: p.Namespace, Name: string(ref.Name)}] {
				s.BackendTLSPolicies = append(s.BackendTLSPolicies, p)
				break
			}
		}
	}
	return s
}

// Result is what one Gateway would get.
type Result struct {
	// Gateway is "namespace/name".
	Gateway string `json:"gateway"`
	// Config is the Kengine config its pods would be pushed, or nil when render failed.
	Config json.RawMessage `json:"config,omitempty"`
	// Version is the config's version (its sha256).
	Version string `json:"version,omitempty"`
	// Error is why no config could be rendered.
	Error string `json:"error,omitempty"`
	// Status is the status translate decides (Programmed aside, which depends on the pods).
	Status Status `json:"status"`
}

// Status is the status of a Gateway and of its routes.
type Status struct {
	// Conditions are the Gateway's conditions.
	Conditions []metav1.Condition `json:"conditions"`
	// Listeners is the status of every listener.
	Listeners []gatewayv1.ListenerStatus `json:"listeners"`
	// Routes are the parent entries each route would get for this Gateway.
	Routes []RouteStatus `json:"routes,omitempty"`
	// Policies are the ancestor entries each BackendTLSPolicy would get for this Gateway.
	Policies []PolicyStatus `json:"policies,omitempty"`
	// AttachedListenerSets counts the ListenerSets the Gateway accepts.
	AttachedListenerSets int32 `json:"attachedListenerSets,omitempty"`
	// ListenerSets are the status of the ListenerSets that name the Gateway as their parent.
	ListenerSets []ListenerSetStatus `json:"listenerSets,omitempty"`
}

// ListenerSetStatus is the status of one ListenerSet (Programmed aside).
type ListenerSetStatus struct {
	// ListenerSet is "namespace/name".
	ListenerSet string `json:"listenerSet"`
	// Conditions are its conditions.
	Conditions []metav1.Condition `json:"conditions"`
	// Listeners is the status of every listener it declares.
	Listeners []gatewayv1.ListenerStatus `json:"listeners,omitempty"`
}

// PolicyStatus is one policy's ancestor entries for the Gateway.
type PolicyStatus struct {
	// Policy is "BackendTLSPolicy namespace/name".
	Policy string `json:"policy"`
	// Ancestors are the entries.
	Ancestors []gatewayv1.PolicyAncestorStatus `json:"ancestors"`
}

// RouteStatus is one route's parent entries for the Gateway.
type RouteStatus struct {
	// Route is "Kind namespace/name".
	Route string `json:"route"`
	// Parents are the entries.
	Parents []gatewayv1.RouteParentStatus `json:"parents"`
}

// Translate translates and renders every Gateway of the objects whose class is
// controllerName's (every Gateway when no class was read), in namespace/name order.
func Translate(o *Objects, controllerName string, opts render.Options) []Result {
	gws := append([]*gatewayv1.Gateway{}, o.Gateways...)
	sort.Slice(gws, func(i, j int) bool {
		return gws[i].Namespace+"/"+gws[i].Name < gws[j].Namespace+"/"+gws[j].Name
	})
	var out []Result
	for _, gw := range gws {
		if class, ok := o.Classes[string(gw.Spec.GatewayClassName)]; ok && string(class.Spec.ControllerName) != controllerName {
			continue
		}
		res := translate.Translate(o.Snapshot(gw), translate.Options{ControllerName: controllerName})
		r := Result{Gateway: gw.Namespace + "/" + gw.Name, Status: Status{
			Conditions:           res.Status.Gateway.Conditions,
			Listeners:            res.Status.Gateway.Listeners,
			AttachedListenerSets: res.Status.Gateway.AttachedListenerSets,
		}}
		for _, ls := range res.Status.ListenerSets {
			r.Status.ListenerSets = append(r.Status.ListenerSets, ListenerSetStatus{
				ListenerSet: ls.ListenerSet.Namespace + "/" + ls.ListenerSet.Name,
				Conditions:  ls.Conditions,
				Listeners:   ls.Listeners,
			})
		}
		for _, rr := range res.Status.Routes {
			kind := fmt.Sprintf("%T", rr.Route)
			kind = kind[strings.LastIndex(kind, ".")+1:]
			r.Status.Routes = append(r.Status.Routes, RouteStatus{
				Route:   kind + " " + rr.Route.GetNamespace() + "/" + rr.Route.GetName(),
				Parents: rr.Parents,
			})
		}
		for _, pr := range res.Status.Policies {
			r.Status.Policies = append(r.Status.Policies, PolicyStatus{
				Policy:    "BackendTLSPolicy " + pr.Policy.Namespace + "/" + pr.Policy.Name,
				Ancestors: pr.Ancestors,
			})
		}
		cfg, err := render.Config(res.Gateway, opts)
		if err == nil {
			var data []byte
			if data, r.Version, err = kengine.Finalize(cfg); err == nil {
				r.Config = data
			}
		}
		if err != nil {
			r.Error = err.Error()
		}
		out = append(out, r)
	}
	return out
}
