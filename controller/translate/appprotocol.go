package translate

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/ir"
)

// Kubernetes standard application protocols (KEP-3726) that GEP-1911 asks HTTPRoute
// implementations to recognise on a Service port.
const (
	appProtocolH2C = "kubernetes.io/h2c"
	appProtocolWS  = "kubernetes.io/ws"
	appProtocolWSS = "kubernetes.io/wss"
)

// errBackendTLS is why a backend that speaks TLS cannot be reached without a policy.
var errBackendTLS = errors.New("it needs TLS to the backend, and no BackendTLSPolicy targets this Service port")

// backendProtocol is how an HTTPRoute speaks to a Service port, from its appProtocol
// (GEP-1911): none or "http" is HTTP/1.1, which also carries WebSocket upgrades, as
// kubernetes.io/ws asks; kubernetes.io/h2c is HTTP/2 with prior knowledge. Any other value
// names a protocol the route cannot speak, and the backend is invalid (UnsupportedProtocol).
// Other route kinds keep HTTP/1.1 here; their translators decide for themselves.
func backendProtocol(kind gatewayv1.Kind, port *corev1.ServicePort) (ir.Protocol, error) {
	if kind != KindHTTPRoute || port.AppProtocol == nil || *port.AppProtocol == "" {
		return ir.HTTP1, nil
	}
	switch ap := *port.AppProtocol; {
	case ap == appProtocolH2C:
		return ir.H2C, nil
	case ap == appProtocolWS, strings.EqualFold(ap, "http"):
		return ir.HTTP1, nil
	case ap == appProtocolWSS, strings.EqualFold(ap, "https"):
		return "", fmt.Errorf("appProtocol %q: %w", ap, errBackendTLS)
	default:
		return "", fmt.Errorf("appProtocol %q is not a protocol an HTTPRoute can speak to (%s, %s, http, or none)", ap, appProtocolH2C, appProtocolWS)
	}
}
