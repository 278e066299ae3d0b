package managed

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

func testPKI(t *testing.T, now func() time.Time) (*AdminPKI, *kubefake.Clientset) {
	t.Helper()
	kube := kubefake.NewClientset()
	p, err := LoadAdminPKI(context.Background(), kube, AdminPKIOptions{Namespace: "sys", Name: "ca", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return p, kube
}

func TestAdminPKIIsCreatedOnceAndReloaded(t *testing.T) {
	p, kube := testPKI(t, nil)
	again, err := LoadAdminPKI(context.Background(), kube, AdminPKIOptions{Namespace: "sys", Name: "ca"})
	if err != nil {
		t.Fatal(err)
	}
	if string(p.RootPEM()) != string(again.RootPEM()) || p.PinnedClientCAs()[0] != again.PinnedClientCAs()[0] {
		t.Error("a second load must read the same CAs, not create new ones")
	}
	sec, err := kube.CoreV1().Secrets("sys").Get(context.Background(), "ca", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sec.Data[pkiRootKey]) == 0 || len(sec.Data[pkiClientCAKey]) == 0 {
		t.Error("the CA Secret must hold the keys")
	}
}

// A Gateway's intermediate can only certify that Gateway's identity: a compromised pod that
// holds it cannot pose as another Gateway's pods.
func TestGatewayIntermediateIsNameConstrained(t *testing.T) {
	p, _ := testPKI(t, nil)
	idA, idB := AdminIdentity("ns", "a"), AdminIdentity("ns", "b")
	if idA == idB || len(idA) > 253 {
		t.Fatalf("identities %q and %q", idA, idB)
	}
	certPEM, keyPEM, err := p.GatewayIntermediate(idA)
	if err != nil {
		t.Fatal(err)
	}
	if !p.IntermediateValid(certPEM, idA) || p.IntermediateValid(certPEM, idB) {
		t.Error("IntermediateValid must accept the intermediate for its own identity only")
	}
	inter, err := parseKeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(p.RootPEM())
	inters := x509.NewCertPool()
	inters.AddCert(inter.cert)
	for _, tc := range []struct {
		name    string
		dns     string
		wantErr bool
	}{{"own identity", idA, false}, {"another Gateway's identity", idB, true}} {
		leaf := leafFor(t, inter, tc.dns)
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: tc.dns, Roots: roots, Intermediates: inters})
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: verify error = %v, want error %v", tc.name, err, tc.wantErr)
		}
	}
}

func leafFor(t *testing.T, ca *keyPair, dns string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: randomSerial(), Subject: pkix.Name{CommonName: dns}, DNSNames: []string{dns},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return cert
}

func TestClientCARotationOverlapAndUnpin(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	p, _ := testPKI(t, clock)
	ctx := context.Background()
	if rotated, err := p.RotateClientCA(ctx, false); err != nil || rotated {
		t.Fatalf("a fresh client CA must not rotate: %v %v", rotated, err)
	}
	now = now.Add(clientCALifetime * 2 / 3).Add(time.Minute)
	if rotated, err := p.RotateClientCA(ctx, false); err != nil || !rotated {
		t.Fatalf("a client CA past two thirds of its life must rotate: %v %v", rotated, err)
	}
	if len(p.PinnedClientCAs()) != 2 {
		t.Fatal("the previous client CA stays pinned during the overlap")
	}
	if unpinned, _ := p.UnpinPreviousClientCA(ctx, false); unpinned {
		t.Fatal("unpinned before the overlap passed")
	}
	now = now.Add(2 * time.Hour)
	if unpinned, err := p.UnpinPreviousClientCA(ctx, false); err != nil || !unpinned {
		t.Fatalf("the previous client CA must be unpinned after the overlap: %v %v", unpinned, err)
	}
	if len(p.PinnedClientCAs()) != 1 {
		t.Fatal("one pin after the overlap")
	}
}

// The controller presents the leaf of whichever pinned CA the server names in its request.
func TestClientCertificateFollowsTheServersCAs(t *testing.T) {
	p, _ := testPKI(t, nil)
	first, err := p.clientCertificate(&tls.CertificateRequestInfo{Version: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	oldIssuer := first.Leaf.RawIssuer
	if _, err := p.RotateClientCA(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	pick, err := p.clientCertificate(&tls.CertificateRequestInfo{Version: tls.VersionTLS13, AcceptableCAs: [][]byte{oldIssuer},
		SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256}})
	if err != nil {
		t.Fatal(err)
	}
	if string(pick.Leaf.RawIssuer) != string(oldIssuer) {
		t.Error("a pod that pins only the old CA must get the old CA's leaf")
	}
	pick, _ = p.clientCertificate(&tls.CertificateRequestInfo{Version: tls.VersionTLS13})
	if string(pick.Leaf.RawIssuer) == string(oldIssuer) {
		t.Error("by default the current CA's leaf is presented")
	}
}

// A standby replica that loaded the CA before the leader rotated it pins and presents the new
// client CA once it reloads, as it does when it becomes the leader.
func TestStandbyReplicaReloadsARotatedClientCA(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	leader, kube := testPKI(t, clock)
	standby, err := LoadAdminPKI(context.Background(), kube, AdminPKIOptions{Namespace: "sys", Name: "ca", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leader.RotateClientCA(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := leader.UnpinPreviousClientCA(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(standby.PinnedClientCAs(), leader.PinnedClientCAs()) {
		t.Fatal("test set-up: the standby should still hold the old pins")
	}
	if err := standby.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, want := standby.PinnedClientCAs(), leader.PinnedClientCAs(); !reflect.DeepEqual(got, want) {
		t.Errorf("after reload the standby pins %v, want the leader's %v", got, want)
	}
}
