package integration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/controller/translate"
	"github.com/khulnasoft/gateway/kengine"
)

var (
	standardKengineOnce sync.Once
	standardKengine     string
	standardKengineErr  error
)

// standardKengineBin is a Kengine built with the standard modules only, without the layer4 app:
// $KENGINE_STANDARD_BIN, or a build of ../tools/kengine/standard made once per test run.
func standardKengineBin(t testing.TB) string {
	t.Helper()
	standardKengineOnce.Do(func() {
		if env := os.Getenv("KENGINE_STANDARD_BIN"); env != "" {
			standardKengine, standardKengineErr = filepath.Abs(env)
			return
		}
		dir, err := os.MkdirTemp("", "kengine-standard-bin-")
		if err != nil {
			standardKengineErr = err
			return
		}
		standardKengine = filepath.Join(dir, "kengine-standard")
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", standardKengine, "./standard")
		cmd.Dir = filepath.Join("..", "tools", "kengine")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			standardKengineErr = fmt.Errorf("building ../tools/kengine/standard: %v\n%s", err, out)
		}
	})
	if standardKengineErr != nil {
		t.Fatal(standardKengineErr)
	}
	return standardKengine
}

// A Kengine without the layer4 app refuses a config with TLS/TCP/UDP listeners with the error
// the controller recognises (kengine.RefusesUnknownApp), and runs the same Gateway's config
// without them: HTTP keeps being served.
func TestKengineWithoutLayer4RefusesLayer4AndServesHTTPWithoutIt(t *testing.T) {
	k := startKengineBin(t, standardKengineBin(t), func(adminListen string) any {
		return map[string]any{"admin": map[string]any{"listen": adminListen}}
	})
	h := newHarnessOn(t, k)
	web := startBackend(t, "web")
	echoTCP := startTCPEcho(t, "db", nil)
	httpPort, tcpPort := freePort(t), freePort(t)
	snap := snapshot(gateway(httpListener("http", httpPort, ""), streamListener("tcp", gatewayv1.TCPProtocolType, tcpPort)),
		route("site", onListener("http"), withRules(rule(to("web")))),
		tcpRoute("db", "tcp", routeEpoch, "db"),
		service("web", web), streamService("db", corev1.ProtocolTCP, echoTCP),
	)

	res := h.push(h.finalize(h.render(snap)))
	var apiErr *kengine.APIError
	if !errors.As(res.Err, &apiErr) || !kengine.RefusesUnknownApp(apiErr.Message, kengine.AppLayer4) {
		t.Fatalf("push with layer4 = %v; want a refusal kengine.RefusesUnknownApp recognises", res.Err)
	}

	snap.Layer4Unavailable = "no layer4"
	tr := translate.Translate(snap, translate.Options{ControllerName: controllerName, AllowLoopbackBackends: true})
	if msg := tr.Status.Gateway.Unprogrammable["tcp"]; msg != "no layer4" {
		t.Errorf("tcp listener unprogrammable = %q", msg)
	}
	cfg, err := render.Config(tr.Gateway, h.opts)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Apps.Layer4 != nil {
		t.Fatal("the config without TCP listeners still has the layer4 app")
	}
	if res := h.push(h.finalize(cfg)); res.Err != nil {
		t.Fatalf("push without layer4: %v", res.Err)
	}
	expectReply(t, h.send(httpPort, request{host: "example.com", path: "/"}), http.StatusOK, "web")
	if _, err := tcpHello(tcpPort); err == nil {
		t.Error("the TCP listener answers though it is not in the config")
	}
}

// A config whose only layer4 part is the listener wrapper in front of an HTTPS server (TLS and
// HTTPS listeners on one port) is refused with an error the controller recognises too.
func TestKengineWithoutLayer4RefusesTheLayer4ListenerWrapper(t *testing.T) {
	k := startKengineBin(t, standardKengineBin(t), func(adminListen string) any {
		return map[string]any{"admin": map[string]any{"listen": adminListen}}
	})
	h := newHarnessOn(t, k)
	ca := newTestCA(t)
	pass := startTCPEcho(t, "pass", nil)
	port := freePort(t)
	passthrough := streamListener("passthrough", gatewayv1.TLSProtocolType, port)
	passthrough.TLS = &gatewayv1.ListenerTLSConfig{Mode: ptr.To(gatewayv1.TLSModePassthrough)}
	snap := snapshot(gateway(passthrough, httpsListener("https", port, "www.example.com", "www-tls")),
		tlsRoute("wildcard", "passthrough", []string{"*.example.com"}, "pass"),
		streamService("pass", corev1.ProtocolTCP, pass), ca.serverSecret(t, "www-tls", 21, "www.example.com"),
	)
	cfg := h.render(snap)
	if cfg.Apps.Layer4 != nil {
		t.Fatal("the shared port was rendered as a layer4 server, not as a listener wrapper")
	}
	res := h.push(h.finalize(cfg))
	var apiErr *kengine.APIError
	if !errors.As(res.Err, &apiErr) || !kengine.RefusesUnknownApp(apiErr.Message, kengine.AppLayer4) {
		t.Fatalf("push with the layer4 listener wrapper = %v; want a refusal kengine.RefusesUnknownApp recognises", res.Err)
	}
}
