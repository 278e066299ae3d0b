package informers

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
)

const lastApplied = corev1.LastAppliedConfigAnnotation

// managedFields is what the API server adds to every object it returns.
var managedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply, FieldsV1: metav1.NewFieldsV1(`{"f:data":{}}`)}}

// fullSecret is a Secret as a watch delivers it: data, annotations (kubectl's last-applied
// copy included, which repeats the data) and managedFields.
func fullSecret(ns, name string, typ corev1.SecretType, opts ...func(*corev1.Secret)) *corev1.Secret {
	s := &corev1.Secret{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: name, UID: types.UID("uid-" + name), ResourceVersion: "42", Generation: 1,
			Labels:          map[string]string{"team": "edge"},
			Annotations:     map[string]string{lastApplied: `{"data":{"password":"c2VjcmV0"}}`, "example.com/note": "kept where data is kept"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "owner", UID: "owner-uid"}},
			ManagedFields:   managedFields,
		},
		Type:       typ,
		Data:       map[string][]byte{"password": []byte("secret")},
		StringData: map[string]string{"extra": "write-only"},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// metadataOnly is what the cache keeps of a Secret whose data the controller never reads.
func metadataOnly(s *corev1.Secret) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta: s.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Namespace: s.Namespace, Name: s.Name, UID: s.UID, ResourceVersion: s.ResourceVersion,
			Labels: s.Labels, OwnerReferences: s.OwnerReferences,
		},
		Type: s.Type,
	}
}

// withData is what the cache keeps of a Secret the controller reads: all but managedFields,
// the last-applied annotation and the write-only stringData.
func withData(s *corev1.Secret) *corev1.Secret {
	out := s.DeepCopy()
	out.ManagedFields = nil
	delete(out.Annotations, lastApplied)
	if len(out.Annotations) == 0 {
		out.Annotations = nil
	}
	out.StringData = nil
	return out
}

func TestTransformSecrets(t *testing.T) {
	tr := newCacheTransform(options{controllerSecrets: sets.New("kengine-gateway-system/kengine-gateway-admin-ca")})
	admin := adminSecret("infra", "gw", "kengine", func(s *corev1.Secret) {
		s.ManagedFields = managedFields
		s.Annotations = map[string]string{lastApplied: "{}"}
	})
	for _, tc := range []struct {
		name      string
		in        *corev1.Secret
		keepsData bool
	}{
		{"listener certificate", fullSecret("apps", "cert", corev1.SecretTypeTLS), true},
		{"opaque Secret", fullSecret("apps", "db", corev1.SecretTypeOpaque), false},
		{"service-account token", fullSecret("kube-system", "token", corev1.SecretTypeServiceAccountToken), false},
		{"registry credentials", fullSecret("apps", "pull", corev1.SecretTypeDockerConfigJson), false},
		{"the controller's CA Secret", fullSecret("kengine-gateway-system", "kengine-gateway-admin-ca", corev1.SecretTypeOpaque), true},
		{"a Secret named like the CA elsewhere", fullSecret("apps", "kengine-gateway-admin-ca", corev1.SecretTypeOpaque), false},
		{"another Secret in the controller's namespace", fullSecret("kengine-gateway-system", "other", corev1.SecretTypeOpaque), false},
		{"a Gateway's admin Secret", admin, true},
		{"an admin look-alike without its Gateway as controller", adminSecret("infra", "gw", "kengine", func(s *corev1.Secret) { s.OwnerReferences = nil }), false},
		{"an admin look-alike without the suffix", adminSecret("infra", "gw", "kengine", func(s *corev1.Secret) { s.Name = "gw-kengine" }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := metadataOnly(tc.in)
			if tc.keepsData {
				want = withData(tc.in)
			}
			before := tc.in.DeepCopy()
			got, err := tr.Transform(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cached Secret (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.in); diff != "" {
				t.Errorf("the input was modified (-before +after):\n%s", diff)
			}
			again, err := tr.Transform(got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("transforming twice differs from once (-once +twice):\n%s", diff)
			}
		})
	}
}

func TestTransformWithoutControllerSecretKeepsNoCAData(t *testing.T) {
	tr := newCacheTransform(options{})
	in := fullSecret("kengine-gateway-system", "kengine-gateway-admin-ca", corev1.SecretTypeOpaque)
	got, _ := tr.Transform(in)
	if diff := cmp.Diff(metadataOnly(in), got); diff != "" {
		t.Errorf("cached Secret (-want +got):\n%s", diff)
	}
}

func TestTransformTrimsEveryKind(t *testing.T) {
	tr := newCacheTransform(options{})
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: "apps", Name: "x", ResourceVersion: "7", ManagedFields: managedFields,
			Annotations: map[string]string{lastApplied: "{}", "example.com/keep": "yes"}}
	}
	for _, in := range []any{
		&gatewayv1.Gateway{ObjectMeta: meta(), Spec: gatewayv1.GatewaySpec{GatewayClassName: "kengine"}},
		&gatewayv1.HTTPRoute{ObjectMeta: meta(), Spec: gatewayv1.HTTPRouteSpec{Hostnames: []gatewayv1.Hostname{"a.example.com"}}},
		&corev1.Service{ObjectMeta: meta(), Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}},
		&corev1.ConfigMap{ObjectMeta: meta(), Data: map[string]string{"replicas": "2"}},
		&appsv1.Deployment{ObjectMeta: meta(), Spec: appsv1.DeploymentSpec{MinReadySeconds: 3}},
	} {
		t.Run(fmt.Sprintf("%T", in), func(t *testing.T) {
			before := deepCopy(t, in)
			got, err := tr.Transform(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, in); diff != "" {
				t.Errorf("the input was modified (-before +after):\n%s", diff)
			}
			// Everything but managedFields and the last-applied annotation stays.
			want := deepCopy(t, in).(metav1.Object)
			want.SetManagedFields(nil)
			want.SetAnnotations(map[string]string{"example.com/keep": "yes"})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cached object (-want +got):\n%s", diff)
			}
			again, _ := tr.Transform(got)
			if again != got {
				t.Error("a trimmed object must be returned as is")
			}
		})
	}
}

func TestTransformPassesCleanObjectsAndTombstones(t *testing.T) {
	tr := newCacheTransform(options{})
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", Annotations: map[string]string{"a": "b"}}}
	if got, _ := tr.Transform(svc); got != svc {
		t.Error("an object with nothing to trim must not be copied")
	}
	tomb := cache.DeletedFinalStateUnknown{Key: "apps/db", Obj: fullSecret("apps", "db", corev1.SecretTypeOpaque)}
	got, _ := tr.Transform(tomb)
	if diff := cmp.Diff(tomb, got); diff != "" {
		t.Errorf("a tombstone must pass through (-want +got):\n%s", diff)
	}
}

// TestSecretCacheKeepsOnlyTheDataItReads runs the transform where it matters: in the Secret
// informer that New builds.
func TestSecretCacheKeepsOnlyTheDataItReads(t *testing.T) {
	kube := kubefake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	inf, err := New(kube, gatewayfake.NewSimpleClientset(), ServedKinds{KindGatewayClass: true, KindGateway: true, KindHTTPRoute: true}, 0,
		WithControllerSecret("kengine-gateway-system", "kengine-gateway-admin-ca"))
	if err != nil {
		t.Fatal(err)
	}
	inf.Start(ctx.Done())
	t.Cleanup(func() {
		cancel()
		inf.Shutdown()
	})
	e := &env{t: t, ctx: ctx}
	e.waitFor(inf.HasSynced)

	secrets := []*corev1.Secret{
		fullSecret("apps", "cert", corev1.SecretTypeTLS),
		fullSecret("apps", "db", corev1.SecretTypeOpaque),
		fullSecret("kengine-gateway-system", "kengine-gateway-admin-ca", corev1.SecretTypeOpaque),
		adminSecret("infra", "gw", "kengine"),
	}
	for _, s := range secrets {
		s := s.DeepCopy()
		s.ResourceVersion = ""
		if _, err := kube.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	e.waitFor(func() bool {
		all, err := inf.Secrets.List(labels.Everything())
		return err == nil && len(all) == len(secrets)
	})
	for _, tc := range []struct {
		ns, name string
		keeps    bool
	}{
		{"apps", "cert", true},
		{"apps", "db", false},
		{"kengine-gateway-system", "kengine-gateway-admin-ca", true},
		{"infra", "gw-kengine-admin", true},
	} {
		s, err := inf.Secrets.Secrets(tc.ns).Get(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(s.Data) > 0; got != tc.keeps {
			t.Errorf("%s/%s: cache holds data %v, want %v", tc.ns, tc.name, got, tc.keeps)
		}
		if len(s.StringData) > 0 || len(s.ManagedFields) > 0 || s.Annotations[lastApplied] != "" {
			t.Errorf("%s/%s: cached with stringData, managedFields or the last-applied annotation: %+v", tc.ns, tc.name, s.ObjectMeta)
		}
	}
}

func deepCopy(t *testing.T, obj any) any {
	t.Helper()
	o, ok := obj.(interface{ DeepCopyObject() runtime.Object })
	if !ok {
		t.Fatalf("%T cannot be copied", obj)
	}
	return o.DeepCopyObject()
}
