package managed

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// The admin PKI secures the Admin API of managed Kengine pods with mutual TLS, without sidecars:
//
//   - A root CA (kept with its key only in the controller's namespace) signs one intermediate per
//     Gateway, name-constrained to that Gateway's admin identity. Pods get the intermediate key and
//     the root certificate only; Kengine's internal issuer mints their short-lived admin server
//     certificate from it. The controller verifies a pod against the root and the Gateway's
//     identity, and the name constraint stops one Gateway's pods from posing as another's.
//   - The controller authenticates with short-lived leaf certificates it mints in memory from a
//     pinned client CA. Pods pin that CA in admin.remote.access_control, so leaves rotate freely.
//     Rotating the client CA itself keeps the previous one pinned for an overlap period; during
//     it the controller presents whichever leaf the pod accepts (the TLS certificate request
//     names the pinned CAs), then the previous CA is unpinned and its leaves are refused.

// Keys of the CA Secret.
const (
	pkiRootCert           = "ca.crt"
	pkiRootKey            = "ca.key"
	pkiClientCACert       = "client-ca.crt"
	pkiClientCAKey        = "client-ca.key"
	pkiPrevClientCACert   = "client-ca-previous.crt"
	pkiPrevClientCAKey    = "client-ca-previous.key"
	pkiPrevUnpinAfterAnno = "kengine.khulnasoft.com/unpin-previous-client-ca-after"
)

const (
	rootLifetime     = 10 * 365 * 24 * time.Hour
	clientCALifetime = 2 * 365 * 24 * time.Hour
	clientLeafLife   = 24 * time.Hour
)

// AdminPKI holds the controller's admin credentials. It is safe for concurrent use.
type AdminPKI struct {
	kube      kubernetes.Interface
	namespace string
	name      string
	now       func() time.Time
	overlap   time.Duration

	mu         sync.Mutex
	root       *x509.Certificate
	rootKey    crypto.Signer
	rootPEM    []byte
	clientCAs  []*keyPair // current first, then the previous one while it is still pinned
	leaves     map[string]*tls.Certificate
	unpinAfter time.Time
}

type keyPair struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
	keyPEM  []byte
}

// AdminPKIOptions configure LoadAdminPKI.
type AdminPKIOptions struct {
	// Namespace and Name locate the CA Secret (the controller's namespace).
	Namespace, Name string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RotationOverlap is how long the previous client CA stays pinned after a rotation; the
	// resync period must be shorter so that every pod learns the new pin in time.
	RotationOverlap time.Duration
}

// LoadAdminPKI reads the CA Secret, creating it (and the CAs) on first start. Several
// controller replicas may race to create it; the loser reads the winner's.
func LoadAdminPKI(ctx context.Context, kube kubernetes.Interface, o AdminPKIOptions) (*AdminPKI, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RotationOverlap == 0 {
		o.RotationOverlap = time.Hour
	}
	p := &AdminPKI{kube: kube, namespace: o.Namespace, name: o.Name, now: o.Now, overlap: o.RotationOverlap, leaves: map[string]*tls.Certificate{}}
	secrets := kube.CoreV1().Secrets(o.Namespace)
	sec, err := secrets.Get(ctx, o.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		sec, err = p.newCASecret()
		if err != nil {
			return nil, err
		}
		created, cerr := secrets.Create(ctx, sec, metav1.CreateOptions{})
		switch {
		case cerr == nil:
			sec = created
		case apierrors.IsAlreadyExists(cerr):
			if sec, err = secrets.Get(ctx, o.Name, metav1.GetOptions{}); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("creating the admin CA Secret %s/%s: %w", o.Namespace, o.Name, cerr)
		}
	} else if err != nil {
		return nil, fmt.Errorf("reading the admin CA Secret %s/%s: %w", o.Namespace, o.Name, err)
	}
	if err := p.loadSecret(sec); err != nil {
		return nil, fmt.Errorf("admin CA Secret %s/%s: %w", o.Namespace, o.Name, err)
	}
	return p, nil
}

// Reload reads the CA Secret again. Another controller replica may have rotated or unpinned
// the client CA since this one loaded it: a replica that becomes the leader, and the leader at
// every resync, reload so that they never pin, or present, a client CA the Secret has left.
func (p *AdminPKI) Reload(ctx context.Context) error {
	sec, err := p.kube.CoreV1().Secrets(p.namespace).Get(ctx, p.name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading the admin CA Secret %s/%s: %w", p.namespace, p.name, err)
	}
	if err := p.loadSecret(sec); err != nil {
		return fmt.Errorf("admin CA Secret %s/%s: %w", p.namespace, p.name, err)
	}
	return nil
}

func (p *AdminPKI) newCASecret() (*corev1.Secret, error) {
	now := p.now()
	root, err := newCA("kengine-gateway admin root", now, rootLifetime, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	client, err := newCA(clientCAName(now), now, clientCALifetime, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.namespace, Name: p.name, Labels: map[string]string{"app.kubernetes.io/managed-by": "kengine-gateway"}},
		Type:       corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			pkiRootCert: root.certPEM, pkiRootKey: root.keyPEM,
			pkiClientCACert: client.certPEM, pkiClientCAKey: client.keyPEM,
		},
	}, nil
}

// clientCAName is unique per CA: during a rotation the pod's certificate request names the
// CAs it pins, and the controller picks its leaf by issuer name.
func clientCAName(t time.Time) string {
	return "kengine-gateway admin client CA " + t.UTC().Format("20060102T150405Z") + " " + randomSerial().Text(36)[:8]
}

func (p *AdminPKI) loadSecret(sec *corev1.Secret) error {
	root, err := parseKeyPair(sec.Data[pkiRootCert], sec.Data[pkiRootKey])
	if err != nil {
		return fmt.Errorf("root CA: %w", err)
	}
	current, err := parseKeyPair(sec.Data[pkiClientCACert], sec.Data[pkiClientCAKey])
	if err != nil {
		return fmt.Errorf("client CA: %w", err)
	}
	cas := []*keyPair{current}
	var unpinAfter time.Time
	if len(sec.Data[pkiPrevClientCACert]) > 0 {
		prev, err := parseKeyPair(sec.Data[pkiPrevClientCACert], sec.Data[pkiPrevClientCAKey])
		if err != nil {
			return fmt.Errorf("previous client CA: %w", err)
		}
		if t, err := time.Parse(time.RFC3339, sec.Annotations[pkiPrevUnpinAfterAnno]); err == nil {
			unpinAfter = t
		}
		cas = append(cas, prev)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.root, p.rootKey, p.rootPEM = root.cert, root.key, root.certPEM
	p.clientCAs, p.unpinAfter = cas, unpinAfter
	return nil
}

// RootPEM is the root certificate that verifies every Gateway's admin identity.
func (p *AdminPKI) RootPEM() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rootPEM
}

// PinnedClientCAs returns the base64 DER client CA certificates pods must accept, current first.
func (p *AdminPKI) PinnedClientCAs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.clientCAs))
	for _, ca := range p.clientCAs {
		out = append(out, base64.StdEncoding.EncodeToString(ca.cert.Raw))
	}
	return out
}

// ClientTLSConfig returns the TLS settings for talking to the pods of one Gateway: the root
// verifies the pod as serverName, and the client certificate is a fresh leaf of whichever
// pinned client CA the pod asks for.
func (p *AdminPKI) ClientTLSConfig(serverName string) *tls.Config {
	pool := x509.NewCertPool()
	p.mu.Lock()
	pool.AddCert(p.root)
	p.mu.Unlock()
	return &tls.Config{
		MinVersion:           tls.VersionTLS13,
		RootCAs:              pool,
		ServerName:           serverName,
		GetClientCertificate: p.clientCertificate,
	}
}

// clientCertificate picks, among the leaves of the pinned client CAs (current first), one
// the server accepts, minting a new leaf when the last one is past half its life.
func (p *AdminPKI) clientCertificate(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
	p.mu.Lock()
	cas := append([]*keyPair(nil), p.clientCAs...)
	p.mu.Unlock()
	var first *tls.Certificate
	for _, ca := range cas {
		leaf, err := p.leafOf(ca)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = leaf
		}
		if cri.SupportsCertificate(leaf) == nil {
			return leaf, nil
		}
	}
	// Nothing matches: present the current leaf and let the server refuse it visibly.
	return first, nil
}

func (p *AdminPKI) leafOf(ca *keyPair) (*tls.Certificate, error) {
	id := hex.EncodeToString(ca.cert.SubjectKeyId)
	now := p.now()
	p.mu.Lock()
	leaf := p.leaves[id]
	p.mu.Unlock()
	if leaf != nil && now.Before(leaf.Leaf.NotBefore.Add(leaf.Leaf.NotAfter.Sub(leaf.Leaf.NotBefore)/2)) {
		return leaf, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "kengine-gateway"},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(clientLeafLife),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("minting an admin client certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	leaf = &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key, Leaf: cert}
	p.mu.Lock()
	p.leaves[id] = leaf
	p.mu.Unlock()
	return leaf, nil
}

// RotateClientCA replaces the client CA with a new one and keeps the previous one pinned for
// the overlap period. It runs when the current CA has used two thirds of its life, or when
// forced.
func (p *AdminPKI) RotateClientCA(ctx context.Context, force bool) (bool, error) {
	now := p.now()
	p.mu.Lock()
	current := p.clientCAs[0]
	due := force || now.After(current.cert.NotBefore.Add(current.cert.NotAfter.Sub(current.cert.NotBefore)*2/3))
	p.mu.Unlock()
	if !due {
		return false, nil
	}
	next, err := newCA(clientCAName(now), now, clientCALifetime, nil, nil, nil)
	if err != nil {
		return false, err
	}
	err = p.updateSecret(ctx, func(sec *corev1.Secret) {
		sec.Data[pkiPrevClientCACert], sec.Data[pkiPrevClientCAKey] = sec.Data[pkiClientCACert], sec.Data[pkiClientCAKey]
		sec.Data[pkiClientCACert], sec.Data[pkiClientCAKey] = next.certPEM, next.keyPEM
		if sec.Annotations == nil {
			sec.Annotations = map[string]string{}
		}
		sec.Annotations[pkiPrevUnpinAfterAnno] = now.Add(p.overlap).UTC().Format(time.RFC3339)
	})
	return err == nil, err
}

// UnpinPreviousClientCA drops the previous client CA once its overlap has passed (or when
// forced); pods stop accepting its leaves at their next push.
func (p *AdminPKI) UnpinPreviousClientCA(ctx context.Context, force bool) (bool, error) {
	p.mu.Lock()
	due := len(p.clientCAs) > 1 && (force || p.now().After(p.unpinAfter))
	p.mu.Unlock()
	if !due {
		return false, nil
	}
	err := p.updateSecret(ctx, func(sec *corev1.Secret) {
		delete(sec.Data, pkiPrevClientCACert)
		delete(sec.Data, pkiPrevClientCAKey)
		delete(sec.Annotations, pkiPrevUnpinAfterAnno)
	})
	return err == nil, err
}

// updateSecret applies change to the latest CA Secret and reloads it.
func (p *AdminPKI) updateSecret(ctx context.Context, change func(*corev1.Secret)) error {
	secrets := p.kube.CoreV1().Secrets(p.namespace)
	sec, err := secrets.Get(ctx, p.name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	sec = sec.DeepCopy()
	change(sec)
	updated, err := secrets.Update(ctx, sec, metav1.UpdateOptions{})
	if err != nil {
		return err
	}
	return p.loadSecret(updated)
}

// GatewayIntermediate issues a CA for one Gateway's pods, signed by the root and allowed to
// certify only identity.
func (p *AdminPKI) GatewayIntermediate(identity string) (certPEM, keyPEM []byte, err error) {
	p.mu.Lock()
	root, rootKey := p.root, p.rootKey
	p.mu.Unlock()
	// Kengine renews an intermediate near its end, which it cannot do without the root key, so
	// it lives as long as the root.
	life := root.NotAfter.Sub(p.now()) - time.Hour
	kp, err := newCA("kengine-gateway admin "+identity, p.now(), life, root, rootKey, []string{identity})
	if err != nil {
		return nil, nil, err
	}
	return kp.certPEM, kp.keyPEM, nil
}

// IntermediateValid reports whether certPEM is a CA for identity signed by the current root.
func (p *AdminPKI) IntermediateValid(certPEM []byte, identity string) bool {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return false
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !cert.IsCA {
		return false
	}
	p.mu.Lock()
	root := p.root
	p.mu.Unlock()
	if cert.CheckSignatureFrom(root) != nil || p.now().After(cert.NotAfter) {
		return false
	}
	return len(cert.PermittedDNSDomains) == 1 && cert.PermittedDNSDomains[0] == identity
}

// AdminIdentity is the name a Gateway's pods present on their admin endpoint.
func AdminIdentity(namespace, gateway string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + gateway))
	return "gw-" + hex.EncodeToString(sum[:10]) + ".admin.kengine-gateway.internal"
}

// newCA creates a CA certificate, self-signed when parent is nil, optionally limited to the
// permitted DNS names.
func newCA(cn string, now time.Time, life time.Duration, parent *x509.Certificate, parentKey crypto.Signer, permitted []string) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"kengine-gateway"}},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(life),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		PermittedDNSDomains:   permitted,
	}
	if len(permitted) > 0 {
		tmpl.PermittedDNSDomainsCritical = true
		tmpl.MaxPathLenZero = true
	}
	signer, signerKey := tmpl, crypto.Signer(key)
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

func parseKeyPair(certPEM, keyPEM []byte) (*keyPair, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err // never contains key material
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, errors.New("private key cannot sign")
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: signer, certPEM: certPEM, keyPEM: keyPEM}, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}
