// Command kengine-gateway is a Kubernetes Gateway API controller that programs Kengine (a Caddy
// v2 distribution) through its Admin API: for every Gateway of its GatewayClasses it renders one
// complete Kengine JSON config and pushes it to every Kengine pod of that Gateway.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes"
	kubescheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	gatewayclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gatewayscheme "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/scheme"
	"sigs.k8s.io/yaml"

	"github.com/khulnasoft/gateway/controller"
	"github.com/khulnasoft/gateway/controller/managed"
	"github.com/khulnasoft/gateway/controller/offline"
	"github.com/khulnasoft/gateway/controller/render"
	"github.com/khulnasoft/gateway/informers"
	"github.com/khulnasoft/gateway/kengine"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type options struct {
	kubeconfig           string
	controllerName       string
	workers              int
	resyncPeriod         time.Duration
	metricsAddr          string
	probeAddr            string
	leaderElect          bool
	leaderElectionNS     string
	leaderElectionID     string
	adminPort            int
	adminInsecure        bool
	adminCAFile          string
	adminCertFile        string
	adminKeyFile         string
	adminServerName      string
	adminConfigFile      string
	pushTimeout          time.Duration
	pushConcurrency      int
	kengineShutdownDelay time.Duration
	healthPort           int
	managed              bool
	kengineImage         string
	managedAdminPort     int
	namespace            string
	adminCASecret        string
	clientCAOverlap      time.Duration
	apiTimeout           time.Duration
	shutdownTimeout      time.Duration
	showVersion          bool
}

func parseFlags(args []string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("kengine-gateway", flag.ContinueOnError)
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; empty uses the in-cluster configuration.")
	fs.StringVar(&o.controllerName, "controller-name", controller.DefaultControllerName, "GatewayClass spec.controllerName this controller reconciles.")
	fs.IntVar(&o.workers, "workers", 4, "Number of Gateways synced in parallel.")
	fs.DurationVar(&o.resyncPeriod, "resync-period", time.Minute, "How often every Gateway is re-checked against its pods (repairs pods that lost their config); 0 disables.")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address of the Prometheus /metrics endpoint; empty disables it.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints; empty disables them.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader through a Lease so that only one replica reconciles.")
	fs.StringVar(&o.leaderElectionNS, "leader-election-namespace", "", "Namespace of the leader election Lease; defaults to the pod's namespace.")
	fs.StringVar(&o.leaderElectionID, "leader-election-id", "kengine-gateway", "Name of the leader election Lease.")
	fs.IntVar(&o.adminPort, "kengine-admin-port", 2019, "Port of the Kengine Admin API on every Kengine pod.")
	fs.BoolVar(&o.adminInsecure, "kengine-admin-insecure", false, "Talk plain HTTP to the Kengine Admin API. For development only: anyone who reaches the port controls the proxy.")
	fs.StringVar(&o.adminCAFile, "kengine-admin-ca-file", "", "PEM CA bundle that verifies the Kengine pods' admin certificates.")
	fs.StringVar(&o.adminCertFile, "kengine-admin-cert-file", "", "PEM client certificate presented to the Kengine Admin API (mutual TLS).")
	fs.StringVar(&o.adminKeyFile, "kengine-admin-key-file", "", "PEM private key of --kengine-admin-cert-file.")
	fs.StringVar(&o.adminServerName, "kengine-admin-server-name", "", "Server name verified in the pods' admin certificates; {pod} and {namespace} are expanded.")
	fs.StringVar(&o.adminConfigFile, "kengine-admin-config", "", "JSON file with the Kengine \"admin\" block every pushed config carries (required with TLS; it must keep the remote admin endpoint and its access control).")
	fs.DurationVar(&o.pushTimeout, "kengine-push-timeout", 10*time.Second, "Timeout of one Admin API request to one pod.")
	fs.DurationVar(&o.kengineShutdownDelay, "kengine-shutdown-delay", 5*time.Second, "How long a stopping Kengine pod keeps accepting connections, so that the load balancer stops sending it new ones first (Kengine's shutdown_delay); keep it well below the pods' terminationGracePeriodSeconds.")
	fs.IntVar(&o.pushConcurrency, "kengine-push-concurrency", 16, "Maximum number of pods programmed at once per Gateway.")
	fs.IntVar(&o.healthPort, "kengine-health-port", 19080, "Port of the readiness route rendered into every config (/kengine-gateway/ready); the next two ports are used on the pods' loopback.")
	fs.BoolVar(&o.managed, "managed-kengine", true, "Run a Kengine Deployment (or DaemonSet) per Gateway that brings none of its own (GEP-1762).")
	fs.StringVar(&o.kengineImage, "kengine-image", "ghcr.io/khulnasoft/kengine:latest", "Default Kengine image of managed Gateways (the parameters ConfigMap key \"image\" overrides it).")
	fs.IntVar(&o.managedAdminPort, "managed-admin-port", 2021, "Mutual-TLS Admin API port of managed Kengine pods.")
	fs.StringVar(&o.namespace, "namespace", "", "The controller's namespace, where the admin CA Secret lives; defaults to the pod's namespace, else kengine-gateway-system.")
	fs.StringVar(&o.adminCASecret, "admin-ca-secret", "kengine-gateway-admin-ca", "Name of the Secret holding the admin root CA and client CA of managed Kengine (created if missing).")
	fs.DurationVar(&o.clientCAOverlap, "admin-client-ca-overlap", time.Hour, "How long a rotated-out admin client CA stays trusted by managed pods; must exceed --resync-period.")
	fs.DurationVar(&o.apiTimeout, "api-timeout", controller.DefaultAPITimeout, "Timeout of every request to the Kubernetes API server except the informers' watches (status writes, applies, discovery, Events, the Lease, the admin CA Secret).")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", controller.DefaultShutdownTimeout, "On SIGTERM, how long syncs in flight may finish before they are cancelled; keep it below the pod's terminationGracePeriodSeconds.")
	fs.BoolVar(&o.showVersion, "version", false, "Print the version and exit.")
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	klogFlags.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, f.Name, f.Usage) })
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if o.workers < 1 {
		return nil, fmt.Errorf("--workers must be at least 1")
	}
	if o.apiTimeout <= 0 || o.shutdownTimeout <= 0 {
		return nil, fmt.Errorf("--api-timeout and --shutdown-timeout must be positive")
	}
	return o, nil
}

// adminBase returns the admin block, and the pki app its identity may need, that every pushed
// config carries: a pushed config replaces the pod's whole config, admin endpoint included.
func (o *options) adminBase() (*kengine.Admin, *kengine.PKIApp, error) {
	if o.adminConfigFile != "" {
		data, err := os.ReadFile(o.adminConfigFile)
		if err != nil {
			return nil, nil, fmt.Errorf("reading --kengine-admin-config: %w", err)
		}
		var base struct {
			Admin *kengine.Admin `json:"admin"`
			Apps  struct {
				PKI *kengine.PKIApp `json:"pki"`
			} `json:"apps"`
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&base); err != nil {
			return nil, nil, fmt.Errorf("parsing --kengine-admin-config (want {\"admin\": {...}, \"apps\": {\"pki\": {...}}}): %w", err)
		}
		if base.Admin == nil {
			return nil, nil, errors.New("--kengine-admin-config has no admin block")
		}
		if base.Admin.Remote == nil && !o.adminInsecure {
			return nil, nil, errors.New("--kengine-admin-config must configure admin.remote (mutual TLS) unless --kengine-admin-insecure is set")
		}
		return base.Admin, base.Apps.PKI, nil
	}
	if o.adminInsecure {
		// A wildcard listen address, so the controller can reach the pod's IP.
		return &kengine.Admin{Listen: fmt.Sprintf(":%d", o.adminPort)}, nil, nil
	}
	return nil, nil, errors.New("set --kengine-admin-config with the TLS flags, or, for development only, --kengine-admin-insecure")
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "translate" {
		os.Exit(runTranslate(os.Args[2:], os.Stdout, os.Stderr))
	}
	opts, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if opts.showVersion {
		fmt.Println(version)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, opts); err != nil {
		klog.ErrorS(err, "Exiting")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

func run(ctx context.Context, o *options) error {
	logger := klog.FromContext(ctx)
	logger.Info("Starting kengine-gateway", "version", version, "controllerName", o.controllerName)
	cfg, err := restConfig(o.kubeconfig)
	if err != nil {
		return err
	}
	cfg.UserAgent = "kengine-gateway/" + version
	// Two sets of clients: the informers' watches are long requests that a timeout would cut;
	// every other request (status writes, applies, discovery, Events, the Lease, the admin CA
	// Secret) is bounded by --api-timeout, so a hung API server cannot hold a worker.
	watchKube, watchGW, err := newClients(cfg)
	if err != nil {
		return err
	}
	timed := rest.CopyConfig(cfg)
	timed.Timeout = o.apiTimeout
	kube, gw, err := newClients(timed)
	if err != nil {
		return err
	}
	// Bring-your-own Kengine is programmed with the admin settings of the flags; without any,
	// only managed Gateways work.
	var byoPusher controller.Pusher
	var admin *kengine.Admin
	var adminPKIApp *kengine.PKIApp
	if o.adminInsecure || o.adminConfigFile != "" {
		if admin, adminPKIApp, err = o.adminBase(); err != nil {
			return err
		}
		client, err := kengine.NewClient(kengine.ClientOptions{
			Port: o.adminPort, Insecure: o.adminInsecure,
			CAFile: o.adminCAFile, CertFile: o.adminCertFile, KeyFile: o.adminKeyFile,
			ServerName: o.adminServerName, Timeout: o.pushTimeout, Concurrency: o.pushConcurrency,
		})
		if err != nil {
			return fmt.Errorf("configuring the Kengine admin client: %w", err)
		}
		byoPusher = client
	}
	managedOpts := managed.Options{Enabled: o.managed, Image: o.kengineImage, AdminPort: o.managedAdminPort}
	// The controller's own admin PKI serves managed Gateways and, when no bring-your-own admin
	// settings are given, bring-your-own Kengine too (through the admin Secret it publishes).
	if o.managed || byoPusher == nil {
		pki, err := managed.LoadAdminPKI(ctx, kube, managed.AdminPKIOptions{
			Namespace: o.controllerNamespace(), Name: o.adminCASecret, RotationOverlap: o.clientCAOverlap,
		})
		if err != nil {
			return err
		}
		managedOpts.PKI = pki
		managedOpts.NewPusher = func(t *managed.KengineTLS) (kengine.Pusher, error) {
			return kengine.NewClient(kengine.ClientOptions{
				Port: t.Port, TLSConfig: pki.ClientTLSConfig(t.Identity), Timeout: o.pushTimeout, Concurrency: o.pushConcurrency,
			})
		}
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := controller.NewMetrics(registry)
	if o.leaderElect {
		leaderelection.SetProvider(metrics.LeaderElection())
	} else {
		metrics.SetLeader(true)
	}
	// Ready means able to do this replica's part: a standby waiting for the Lease is ready to
	// take over (a rollout must be able to replace it), the leader is ready once its caches
	// are synced.
	var ready atomic.Bool
	ready.Store(o.leaderElect)
	serve(ctx, o.metricsAddr, "/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	probes := http.NewServeMux()
	probes.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	probes.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "informer caches not synced", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	serve(ctx, o.probeAddr, "/", probes)

	queueMetrics := controller.NewWorkqueueMetricsProvider(registry)
	recorder := newEventRecorder(ctx, kube)
	served, err := informers.DiscoverServedKinds(kube.Discovery())
	if err != nil {
		return err
	}
	if missing := served.Missing(); len(missing) > 0 {
		logger.Info("Gateway API kinds not served by this cluster; their features are off", "kinds", missing)
	}
	// Each leadership term runs on fresh informers and a fresh controller: a replica that lost
	// the Lease (API server unreachable past the renew deadline) stops them, campaigns again,
	// and starts anew when it wins, as a new process would but with its PKI and metrics kept.
	newController := func() (*informers.Informers, *controller.Controller, error) {
		inf, err := informers.New(watchKube, watchGW, served, 10*time.Hour, informers.WithControllerSecret(o.controllerNamespace(), o.adminCASecret))
		if err != nil {
			return nil, nil, err
		}
		ctrl, err := controller.New(kube, gw, inf, byoPusher, controller.Options{
			ControllerName:  o.controllerName,
			Managed:         managedOpts,
			Render:          render.Options{Admin: admin, PKI: adminPKIApp, HealthPort: o.healthPort, ShutdownDelay: o.kengineShutdownDelay},
			AdminPort:       o.adminPort,
			ResyncPeriod:    o.resyncPeriod,
			QueueMetrics:    queueMetrics,
			Metrics:         metrics,
			Recorder:        recorder,
			APITimeout:      o.apiTimeout,
			ShutdownTimeout: o.shutdownTimeout,
		})
		if err != nil {
			return nil, nil, err
		}
		return inf, ctrl, nil
	}
	start := func(ctx context.Context) error {
		ready.Store(false)
		if managedOpts.PKI != nil {
			// A standby replica loaded the CA when it started; the leader before it may have
			// rotated the client CA since.
			if err := managedOpts.PKI.Reload(ctx); err != nil {
				return err
			}
		}
		inf, ctrl, err := newController()
		if err != nil {
			return err
		}
		inf.Start(ctx.Done())
		defer inf.Shutdown()
		go func() {
			if waitSynced(ctx, inf) {
				ready.Store(true)
			}
		}()
		return ctrl.Run(ctx, o.workers)
	}
	if !o.leaderElect {
		return start(ctx)
	}
	return runWithLeaderElection(ctx, kube, o, start)
}

// newClients returns the core and Gateway API clients of cfg.
func newClients(cfg *rest.Config) (*kubernetes.Clientset, *gatewayclient.Clientset, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	gw, err := gatewayclient.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	return kube, gw, nil
}

// controllerNamespace is where the controller keeps its own Secrets.
func (o *options) controllerNamespace() string {
	if o.namespace != "" {
		return o.namespace
	}
	if data, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
		return strings.TrimSpace(string(data))
	}
	return "kengine-gateway-system"
}

func waitSynced(ctx context.Context, inf *informers.Informers) bool {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for !inf.HasSynced() {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	cfg, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("no --kubeconfig and not running in a cluster: %w", err)
	}
	return cfg, nil
}

// serve runs an HTTP server until ctx is done; an empty address disables it.
func serve(ctx context.Context, addr, pattern string, h http.Handler) {
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.Handle(pattern, h)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			klog.FromContext(ctx).Error(err, "HTTP server failed", "address", addr)
		}
	}()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			klog.FromContext(ctx).Info("HTTP server did not shut down cleanly", "address", addr, "err", err)
		}
	}()
}

// runWithLeaderElection runs start only while this replica holds the Lease. Losing the Lease
// stops start before the replica campaigns again, so a new leader never races a stale one. On SIGTERM, start's context is
// cancelled and the Lease is released only once start has returned (its syncs finished or
// were cancelled), so the next leader does not push while this one still does.
func runWithLeaderElection(ctx context.Context, kube kubernetes.Interface, o *options, start func(context.Context) error) error {
	ns := o.leaderElectionNS
	if ns == "" {
		if data, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
			ns = strings.TrimSpace(string(data))
		} else {
			ns = "kengine-gateway-system"
		}
	}
	id, err := os.Hostname()
	if err != nil {
		return err
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1ObjectMeta(o.leaderElectionID, ns),
		Client:     kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	return leaderElect(ctx, lock, start)
}

// leaseTimings are the leader election's durations: client-go's usual values (a new leader
// within 15 s of a leader's crash, at once after its orderly exit). Tests shorten them.
var leaseTimings = struct{ duration, renewDeadline, retryPeriod time.Duration }{15 * time.Second, 10 * time.Second, 2 * time.Second}

// leaderElect runs start while holding lock; see runWithLeaderElection. A replica that loses
// the Lease while it is not asked to stop (it could not renew it, the API server being away)
// has stopped start when leaderTerm returns, and campaigns again: the process survives an
// API server outage and resumes as soon as it can hold the Lease again.
func leaderElect(ctx context.Context, lock resourcelock.Interface, start func(context.Context) error) error {
	for {
		lost, err := leaderTerm(ctx, lock, start)
		if err != nil || !lost || ctx.Err() != nil {
			return err
		}
		klog.FromContext(ctx).Info("Lost the Lease; stopped reconciling and campaigning again")
	}
}

// leaderTerm campaigns for lock and runs start while holding it. lost reports a term that
// ended because the Lease was lost rather than because ctx ended.
func leaderTerm(ctx context.Context, lock resourcelock.Interface, start func(context.Context) error) (lost bool, err error) {
	// The election's own context outlives ctx while start drains; cancelling it releases the
	// Lease (ReleaseOnCancel).
	electCtx, stopElection := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElection()
	// leading is set when start begins; returned when leaderElect no longer waits for it, so
	// that a start the elector launches late never runs.
	var mu sync.Mutex
	leading, returned := false, false
	// A standby replica stops campaigning at once on SIGTERM.
	stopStandby := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !leading {
			stopElection()
		}
	})
	defer stopStandby()
	finished := make(chan struct{})
	var runErr error
	leaderelection.RunOrDie(electCtx, leaderelection.LeaderElectionConfig{
		Lock:            lock,
		ReleaseOnCancel: true,
		LeaseDuration:   leaseTimings.duration,
		RenewDeadline:   leaseTimings.renewDeadline,
		RetryPeriod:     leaseTimings.retryPeriod,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leaderCtx context.Context) {
				mu.Lock()
				if returned {
					mu.Unlock()
					return
				}
				leading = true
				mu.Unlock()
				defer close(finished)
				defer stopElection() // release the Lease once start is done
				runCtx, cancel := context.WithCancel(leaderCtx)
				defer cancel()
				defer context.AfterFunc(ctx, cancel)()
				runErr = start(runCtx)
			},
			OnStoppedLeading: func() { klog.FromContext(ctx).Info("Leadership lost or released") },
		},
	})
	mu.Lock()
	returned = true
	wasLeading := leading
	mu.Unlock()
	if wasLeading {
		<-finished
	}
	return wasLeading && ctx.Err() == nil, runErr
}

func metav1ObjectMeta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace}
}

// newEventRecorder records Events on core and Gateway API objects through the API server
// until ctx ends.
func newEventRecorder(ctx context.Context, kube kubernetes.Interface) record.EventRecorder {
	sch := runtime.NewScheme()
	utilruntime.Must(kubescheme.AddToScheme(sch))
	utilruntime.Must(gatewayscheme.AddToScheme(sch))
	b := record.NewBroadcaster(record.WithContext(ctx))
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events("")})
	return b.NewRecorder(sch, corev1.EventSource{Component: "kengine-gateway"})
}

// fileList is a repeatable -f flag.
type fileList []string

func (f *fileList) String() string     { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error { *f = append(*f, v); return nil }

// runTranslate is `kengine-gateway translate`: it reads Gateway API and core objects from YAML
// files (or directories of them, or - for standard input) and prints, with no cluster, the
// Kengine config each Gateway of ours would get and the status each object would get. It
// returns the exit status.
func runTranslate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kengine-gateway translate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files fileList
	fs.Var(&files, "f", "a YAML file, a directory of them, or - for standard input (repeatable)")
	output := fs.String("o", "yaml", "output format: yaml or json")
	controllerName := fs.String("controller-name", controller.DefaultControllerName, "translate the Gateways of GatewayClasses with this controllerName (all Gateways when no GatewayClass is given)")
	namespace := fs.String("namespace", "default", "namespace of objects that name none")
	healthPort := fs.Int("health-port", 19080, "Kengine readiness port, as the controller's --health-port")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: kengine-gateway translate -f FILE... [-o yaml|json]")
		fmt.Fprintln(stderr, "Prints the Kengine config each Gateway would get and the status of every object, with no cluster.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(files) == 0 || (*output != "yaml" && *output != "json") {
		fs.Usage()
		return 2
	}
	objs := &offline.Objects{}
	for _, f := range files {
		if err := loadObjects(objs, f, *namespace, stdin); err != nil {
			fmt.Fprintf(stderr, "translate: %s: %v\n", f, err)
			return 1
		}
	}
	if len(objs.Skipped) > 0 {
		kinds := make([]string, 0, len(objs.Skipped))
		for k, n := range objs.Skipped {
			kinds = append(kinds, fmt.Sprintf("%s (%d)", k, n))
		}
		sort.Strings(kinds)
		fmt.Fprintf(stderr, "translate: not read by translate: %s\n", strings.Join(kinds, ", "))
	}
	// The admin block is a placeholder: the controller writes its own into every pushed config.
	results := offline.Translate(objs, *controllerName, render.Options{Admin: &kengine.Admin{Disabled: true}, HealthPort: *healthPort})
	data, err := json.MarshalIndent(results, "", "  ")
	if err == nil && *output == "yaml" {
		data, err = yaml.JSONToYAML(data)
	}
	if err != nil {
		fmt.Fprintf(stderr, "translate: %v\n", err)
		return 1
	}
	stdout.Write(data)
	if *output == "json" {
		fmt.Fprintln(stdout)
	}
	for _, r := range results {
		if r.Error != "" {
			return 1
		}
	}
	return 0
}

// stdin is where "-f -" reads from; tests replace it.
var stdin io.Reader = os.Stdin

// loadObjects reads one -f argument: a file, every .yaml/.yml/.json file of a directory (not
// recursively, in name order), or standard input.
func loadObjects(objs *offline.Objects, path, namespace string, in io.Reader) error {
	if path == "-" {
		return objs.Load(in, namespace)
	}
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	paths := []string{path}
	if info.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return err
		}
		paths = paths[:0]
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
				paths = append(paths, filepath.Join(path, e.Name()))
			}
		}
	}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = objs.Load(f, namespace)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}
