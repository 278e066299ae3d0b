package render

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

// Options are the settings render needs besides the model.
type Options struct {
	// Admin is the admin block every pushed config carries, so the controller never locks
	// itself out nor opens the endpoint. Required.
	Admin *kengine.Admin
	// PKI is the pki app the admin identity needs (its CA), carried like Admin.
	PKI *kengine.PKIApp
	// ListenHost is the host part of listener addresses; empty binds every interface.
	ListenHost string
	// HealthPort is where the readiness route listens on every interface. HealthPort+1 and
	// HealthPort+2, on loopback only, answer 500 and 503 for the share of traffic that goes
	// to invalid or empty backends.
	HealthPort int
	// ShutdownDelay is how long a Kengine that is stopping (its pod deleted, or a listener
	// removed by a new config) keeps accepting connections on the listeners it closes: the
	// load balancer needs that long to stop sending new connections to it. Zero closes them
	// at once.
	ShutdownDelay time.Duration
	// Cache, when set, keeps encoded virtual hosts between renders (see Cache); the config is
	// the same with or without it.
	Cache Cache
}

// ReadyPath is the readiness route of the health server; it exists only in the config the
// controller pushes, so a pod that answers it runs controller config.
const ReadyPath = "/kengine-gateway/ready"

// Names of the servers render emits besides one per Gateway port.
const (
	healthServerName = "kengine-gateway-health"
	status500Server  = "kengine-gateway-500"
	status503Server  = "kengine-gateway-503"
)

// Config turns a Gateway's model into a complete Kengine config. It is pure and
// deterministic: the same model and options always give the same bytes after
// kengine.Finalize. An error means the model holds a value Kengine cannot be given with its
// meaning intact; translate refuses such values, so it is a bug, and nothing is rendered.
func Config(gw *ir.Gateway, opts Options) (*kengine.Config, error) {
	if gw == nil {
		return nil, errors.New("render: no gateway model")
	}
	if opts.Admin == nil {
		return nil, errors.New("render: an admin block is required")
	}
	if opts.HealthPort <= 0 || opts.HealthPort > 65533 {
		return nil, fmt.Errorf("render: health port %d out of range", opts.HealthPort)
	}
	r := &renderer{opts: opts}
	servers := make(map[string]*kengine.Server, len(gw.HTTP)+3)
	wrapped := map[int]bool{} // TLS ports served by an HTTPS server's layer4 listener wrapper
	for _, srv := range gw.HTTP {
		s := r.httpServer(srv)
		if tlsSrv := tlsServerOn(gw, srv.Port); tlsSrv != nil && srv.TLS {
			s.ListenerWrappers = []kengine.ListenerWrapper{r.sniWrapper(tlsSrv, srv), kengine.TLSListenerWrapper{}}
			wrapped[srv.Port] = true
		}
		servers[fmt.Sprintf("gateway-%d", srv.Port)] = s
	}
	servers[healthServerName] = &kengine.Server{
		Listen: []string{fmt.Sprintf(":%d", opts.HealthPort)},
		Routes: []kengine.Route{
			{Match: []kengine.MatcherSet{{Path: []string{ReadyPath}}}, Handle: []kengine.Handler{kengine.StaticResponse{Body: "ready"}}, Terminal: true},
			notFoundRoute(),
		},
		AutomaticHTTPS: &kengine.AutomaticHTTPS{Disable: true},
		Protocols:      []string{"h1"},
	}
	for _, f := range []struct {
		status int
		name   string
	}{{http.StatusInternalServerError, status500Server}, {http.StatusServiceUnavailable, status503Server}} {
		if !r.failurePorts[f.status] {
			continue
		}
		srv := &kengine.Server{
			Listen:         []string{fmt.Sprintf("127.0.0.1:%d", r.failurePort(f.status))},
			Routes:         []kengine.Route{staticRoute(f.status)},
			AutomaticHTTPS: &kengine.AutomaticHTTPS{Disable: true},
			Protocols:      []string{"h1"},
		}
		if r.failureH2C {
			// An h2c transport speaks only HTTP/2 to cleartext upstreams, these included.
			srv.Protocols = []string{"h1", "h2c"}
		}
		servers[f.name] = srv
	}
	cfg := &kengine.Config{
		Admin: opts.Admin,
		Apps: kengine.Apps{
			HTTP:   &kengine.HTTPApp{Servers: servers, ShutdownDelay: kengine.Duration(opts.ShutdownDelay)},
			Layer4: r.layer4(gw, wrapped),
			PKI:    opts.PKI,
		},
	}
	if len(gw.Certificates) > 0 {
		certs := make([]kengine.PEMCertificate, 0, len(gw.Certificates))
		for _, c := range gw.Certificates {
			certs = append(certs, kengine.PEMCertificate{Certificate: c.CertPEM, Key: c.KeyPEM, Tags: []string{c.Tag}})
		}
		// No OCSP stapling: Kengine must never call out on its own.
		cfg.Apps.TLS = &kengine.TLSApp{Certificates: &kengine.Certificates{LoadPEM: certs}, DisableOCSPStapling: true}
	}
	if r.err != nil {
		return nil, fmt.Errorf("render: %w", r.err)
	}
	return cfg, nil
}

// renderer holds what rendering one Gateway collects along the way.
type renderer struct {
	opts Options
	// failurePorts are the failure statuses some route sends a share of its traffic to.
	failurePorts map[int]bool
	// failureH2C is true when an h2c transport reaches the failure servers.
	failureH2C bool
	// err is the first value that could not be written for Kengine (see keep).
	err error
	// key is scratch space for cache keys.
	key []byte
}

// keep records the first error of a value that could not be written for Kengine. Translate
// already refused every such value with the same functions, so an error here is a bug, and it
// fails the render rather than change a value's meaning.
func (r *renderer) keep(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

// failurePort is the loopback port of the server answering status.
func (r *renderer) failurePort(status int) int {
	if status == http.StatusServiceUnavailable {
		return r.opts.HealthPort + 2
	}
	return r.opts.HealthPort + 1
}

// listenAddress is a TCP listener address on the configured host.
func (r *renderer) listenAddress(port int) string {
	return fmt.Sprintf("%s:%d", r.opts.ListenHost, port)
}

// sourceError names where a value that could not be rendered came from; nil stays nil.
func sourceError(s ir.Source, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s/%s rule %d match %d: %w", s.Kind, s.Namespace, s.Name, s.Rule, s.Match, err)
}

func notFoundRoute() kengine.Route { return staticRoute(http.StatusNotFound) }

func staticRoute(status int) kengine.Route {
	return kengine.Route{Handle: []kengine.Handler{staticResponse(status)}, Terminal: true}
}

func staticResponse(status int) kengine.StaticResponse {
	return kengine.StaticResponse{StatusCode: kengine.WeakString(strconv.Itoa(status))}
}
