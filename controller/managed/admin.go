package managed

import (
	"encoding/json"
	"path"

	"k8s.io/utils/ptr"

	"github.com/khulnasoft/gateway/kengine"
)

// adminCAName names the pki app's CA that issues a pod's admin identity.
const adminCAName = "kengine-admin"

// AdminParams describe the admin endpoint of a managed Kengine.
type AdminParams struct {
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

// Admin returns the admin block and pki app of a managed Gateway: no plain endpoint (a plain
// admin on the pod's loopback would be one ExternalName or rewrite away from any route
// author), the remote endpoint over mutual TLS for the pinned client CAs, allowing exactly the
// calls the controller makes, and an identity issued by the Gateway's intermediate. The
// bootstrap config and every pushed config carry them.
func Admin(p AdminParams) (*kengine.Admin, *kengine.PKIApp) {
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
