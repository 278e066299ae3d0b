package conformance

import (
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1alpha2 "sigs.k8s.io/gateway-api/apis/v1alpha2"
	gatewayv1alpha3 "sigs.k8s.io/gateway-api/apis/v1alpha3"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	gatewayxv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/tests"
	conformanceconfig "sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
)

// implementation identifies us in the report; only the version changes between runs.
var implementation = confv1.Implementation{
	Organization: "khulnasoft",
	Project:      "kengine-gateway",
	URL:          "https://github.com/khulnasoft/gateway",
	Contact:      []string{"@khulnasoft/gateway-maintainers"},
}

// TestConformance runs the official suite the way upstream's conformance.RunConformanceWithOptions
// does (NewConformanceTestSuite, Setup, Run, Report in a cleanup), with three differences: the
// options come from the environment (see Settings), each finished test prints one line so a long
// run shows progress without -v, and the report is written sorted and followed by a summary.
//
// Supported features are inferred by the suite from the GatewayClass's status.supportedFeatures:
// we pass none ourselves, since passing any (or RUN_TEST) turns inference off.
func TestConformance(t *testing.T) {
	s, err := SettingsFromEnv(os.Getenv)
	// Without a cluster this fails rather than skips: make test leaves it out with -skip, and
	// a conformance run that tested nothing must not look green.
	if err != nil {
		t.Fatal(err)
	}
	// controller-runtime complains, with a stack trace, when no logger was set; its client logs
	// only API warnings at the default level.
	log.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(s.Debug)))

	opts, err := suiteOptions(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("conformance: GatewayClass %s, profiles %v, run %q, skip %v, report %q",
		s.GatewayClass, s.Profiles, s.RunTest, s.SkipTests, s.ReportPath)
	runSuite(t, s, opts)
}

// runSuite creates the suite from opts, sets it up, runs every test and, once the last one is
// done, writes the report to s.ReportPath (if any) and the summary to stdout.
func runSuite(t *testing.T, s Settings, opts suite.ConformanceOptions) {
	p := newProgress()
	opts.Hook = p.record

	cSuite, err := suite.NewConformanceTestSuite(opts)
	if err != nil {
		t.Fatalf("create conformance suite: %v", err)
	}

	setUp := false
	t.Cleanup(func() {
		if !setUp {
			fmt.Println("Conformance: setup failed (see the errors above), so no test ran and no report was written")
		}
	})
	cSuite.Setup(t, tests.ConformanceTests)
	setUp = true

	// Parallel tests finish after Run returns, and Run's own cleanup (which lets Report run)
	// was registered after this one, so the report is built once every test is done.
	t.Cleanup(func() {
		report, err := cSuite.Report()
		if err != nil {
			t.Errorf("build conformance report: %v", err)
			return
		}
		if s.ReportPath != "" {
			if err := WriteReport(s.ReportPath, report); err != nil {
				t.Error(err)
			} else {
				fmt.Printf("Conformance report written to %s\n", s.ReportPath)
			}
		}
		if err := WriteSummary(os.Stdout, report, p.tally()); err != nil {
			t.Error(err)
		}
	})
	if err := cSuite.Run(t, tests.ConformanceTests); err != nil {
		t.Fatalf("run conformance suite: %v", err)
	}
}

// suiteOptions turns Settings into the suite's options, with clients for the cluster in
// s.Kubeconfig.
func suiteOptions(s Settings) (suite.ConformanceOptions, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return suite.ConformanceOptions{}, fmt.Errorf("load kubeconfig %s: %w", s.Kubeconfig, err)
	}
	// The values controller-runtime's config.GetConfig picks, which upstream's runner uses.
	cfg.QPS, cfg.Burst = 20, 30

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		apiextensionsv1.AddToScheme,
		gatewayv1.Install,
		gatewayv1beta1.Install,
		gatewayv1alpha2.Install,
		gatewayv1alpha3.Install,
		gatewayxv1alpha1.Install,
	} {
		if err := add(scheme); err != nil {
			return suite.ConformanceOptions{}, fmt.Errorf("build scheme: %w", err)
		}
	}
	// The suite builds a new client per test from these options, so they carry the scheme.
	clientOpts := client.Options{Scheme: scheme}
	c, err := client.New(cfg, clientOpts)
	if err != nil {
		return suite.ConformanceOptions{}, fmt.Errorf("create client: %w", err)
	}
	clientset, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return suite.ConformanceOptions{}, fmt.Errorf("create clientset: %w", err)
	}

	impl := implementation
	impl.Version = s.Version
	if s.ReportPath != "" {
		if err := impl.Validate(); err != nil {
			return suite.ConformanceOptions{}, fmt.Errorf("implementation details for the report: %w", err)
		}
	}
	timeouts := conformanceconfig.DefaultTimeoutConfig()
	conformanceconfig.ParseTimeoutOverrides(&timeouts, s.TimeoutOverrides)

	return suite.ConformanceOptions{
		ConfigurableOptions: suite.ConfigurableOptions{
			GatewayClassName:     s.GatewayClass,
			Debug:                s.Debug,
			ReportOutputPath:     s.ReportPath,
			CleanupBaseResources: true,
			CleanupTestResources: true,
			TimeoutConfig:        timeouts,
			SkipTests:            s.SkipTests,
			RunTest:              s.RunTest,
			Mode:                 "default",
			Implementation:       impl,
			ConformanceProfiles:  s.Profiles,
			// GatewayStaticAddresses puts these into its Gateway's spec.addresses.
			UsableNetworkAddresses:   specAddresses(s.UsableAddresses),
			UnusableNetworkAddresses: specAddresses(s.UnusableAddresses),
		},
		Client:        c,
		ClientOptions: clientOpts,
		Clientset:     clientset,
		RestConfig:    cfg,
		ManifestFS:    []fs.FS{&conformance.Manifests},
	}, nil
}

// progress prints one line per finished test and keeps the tally for the summary. The suite
// calls record from each test's cleanup, concurrently for parallel tests.
type progress struct {
	start time.Time

	mu     sync.Mutex
	counts Tally
}

func newProgress() *progress {
	return &progress{start: time.Now()}
}

// record is the suite's Hook. Tests the suite never meant to run stay silent: those another
// RUN_TEST excluded and, without RUN_TEST, those needing a feature the GatewayClass lacks.
func (p *progress) record(t *testing.T, test suite.ConformanceTest, s *suite.ConformanceTestSuite) {
	if s.RunTest != "" && s.RunTest != test.ShortName {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.RunTest == "" && !s.SupportedFeatures.HasAll(test.Features...) {
		p.counts.NotSupported++
		return
	}
	outcome := "PASS"
	switch {
	case t.Failed():
		outcome = "FAIL"
		p.counts.Failed++
	case t.Skipped():
		outcome = "SKIP"
		p.counts.Skipped++
	default:
		p.counts.Passed++
	}
	fmt.Printf("[%7s] %s %s\n", time.Since(p.start).Round(time.Second), outcome, test.ShortName)
}

func (p *progress) tally() Tally {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}
