package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestParseFlagsDefaults(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.controllerName != "khulnasoft.com/kengine-gateway" || o.workers != 4 || o.adminPort != 2019 || !o.managed ||
		o.managedAdminPort != 2021 || o.resyncPeriod != time.Minute || o.adminInsecure ||
		o.apiTimeout != 30*time.Second || o.shutdownTimeout != 20*time.Second {
		t.Errorf("defaults = %+v", o)
	}
	if _, err := parseFlags([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	if _, err := parseFlags([]string{"--workers=0"}); err == nil {
		t.Error("--workers=0 must be refused")
	}
	if _, err := parseFlags([]string{"-v=4"}); err != nil {
		t.Errorf("klog flags must be accepted: %v", err)
	}
}

func TestAdminBase(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		opts    options
		wantErr string
		listen  string
	}{
		{"insecure listens on every interface of the pod", options{adminInsecure: true, adminPort: 2019}, "", ":2019"},
		{"nothing configured", options{}, "--kengine-admin-config", ""},
		{"config without remote admin", options{adminConfigFile: write("plain.json", `{"admin":{"listen":":2019"}}`)}, "admin.remote", ""},
		{"config with remote admin", options{adminConfigFile: write("remote.json", `{"admin":{"listen":"localhost:2019","remote":{"listen":":2021"}},"apps":{"pki":{}}}`)}, "", "localhost:2019"},
		{"unknown field", options{adminConfigFile: write("typo.json", `{"admin":{"remote":{}},"aps":{}}`)}, "unknown field", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin, _, err := tt.opts.adminBase()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if admin.Listen != tt.listen {
				t.Errorf("listen = %q, want %q", admin.Listen, tt.listen)
			}
		})
	}
}

// With --leader-elect, the controller runs only once it holds the Lease, and releases it when
// its context ends.
func TestLeaderElectionRunsWhileLeading(t *testing.T) {
	kube := kubefake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runWithLeaderElection(ctx, kube, &options{leaderElectionNS: "sys", leaderElectionID: "kengine-gateway"}, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return nil
		})
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("never became leader")
	}
	lease, err := kube.CoordinationV1().Leases("sys").Get(context.Background(), "kengine-gateway", metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Fatalf("lease = %+v, %v", lease, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop after its context ended")
	}
	lease, err = kube.CoordinationV1().Leases("sys").Get(context.Background(), "kengine-gateway", metav1.GetOptions{})
	if err != nil || (lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != "") {
		t.Errorf("the lease must be released on shutdown: %+v, %v", lease.Spec.HolderIdentity, err)
	}
}

// On SIGTERM the leader keeps the Lease while its syncs drain, so that the next leader does
// not push at the same time, and releases it once they are done.
func TestLeaderElectionReleasesTheLeaseAfterTheDrain(t *testing.T) {
	kube := kubefake.NewClientset()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started, draining, drained := make(chan struct{}), make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- runWithLeaderElection(ctx, kube, &options{leaderElectionNS: "sys", leaderElectionID: "kengine-gateway"}, func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			close(draining)
			<-drained
			return errors.New("drained")
		})
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("never became leader")
	}
	cancel()
	select {
	case <-draining:
	case <-time.After(10 * time.Second):
		t.Fatal("start's context was not cancelled by the process's")
	}
	holder := func() string {
		lease, err := kube.CoordinationV1().Leases("sys").Get(context.Background(), "kengine-gateway", metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil {
			return ""
		}
		return *lease.Spec.HolderIdentity
	}
	if holder() == "" {
		t.Error("the Lease was released while syncs were still draining")
	}
	close(drained)
	select {
	case err := <-done:
		if err == nil || err.Error() != "drained" {
			t.Errorf("runWithLeaderElection = %v, want start's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not return after the drain")
	}
	if h := holder(); h != "" {
		t.Errorf("the Lease is still held by %q after shutdown", h)
	}
}

// `kengine-gateway translate -f example/` works offline on the shipped example: one Gateway's
// config and status, and a note on the kinds translate does not read.
func TestTranslateCommandOnTheExample(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runTranslate([]string{"-f", "example", "-o", "json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var results []struct {
		Gateway string          `json:"gateway"`
		Config  json.RawMessage `json:"config"`
		Status  struct {
			Routes []struct {
				Route string `json:"route"`
			} `json:"routes"`
		} `json:"status"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil {
		t.Fatalf("output is not the JSON list of results: %v\n%s", err, stdout.String())
	}
	if len(results) != 1 || results[0].Gateway != "kengine-example/example" || !strings.Contains(string(results[0].Config), `"gateway-80"`) {
		t.Fatalf("results = %s", stdout.String())
	}
	if len(results[0].Status.Routes) == 0 {
		t.Errorf("no route status in %s", stdout.String())
	}
	if !strings.Contains(stderr.String(), "Deployment") {
		t.Errorf("stderr = %q, want a note on the kinds not read", stderr.String())
	}
	if code := runTranslate([]string{"-o", "xml"}, &stdout, &stderr); code != 2 {
		t.Errorf("bad usage: exit %d, want 2", code)
	}
}

// A leader that cannot renew its Lease (the API server is away) stops reconciling, and the
// process stays up: it campaigns again and runs a new term once it holds the Lease again.
func TestLeaderElectionSurvivesALostLease(t *testing.T) {
	saved := leaseTimings
	leaseTimings.duration, leaseTimings.renewDeadline, leaseTimings.retryPeriod = time.Second, 500*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { leaseTimings = saved })

	kube := kubefake.NewClientset()
	var apiDown atomic.Bool
	kube.PrependReactor("*", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if apiDown.Load() {
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	terms := make(chan int, 4)
	stopped := make(chan int, 4)
	var n atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- runWithLeaderElection(ctx, kube, &options{leaderElectionNS: "sys", leaderElectionID: "kengine-gateway"}, func(ctx context.Context) error {
			term := int(n.Add(1))
			terms <- term
			<-ctx.Done()
			stopped <- term
			return nil
		})
	}()
	wait := func(ch chan int, what string) int {
		t.Helper()
		select {
		case v := <-ch:
			return v
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
			return 0
		}
	}
	if term := wait(terms, "the first term"); term != 1 {
		t.Fatalf("first term = %d", term)
	}
	apiDown.Store(true)
	if term := wait(stopped, "the first term to stop after the Lease could not be renewed"); term != 1 {
		t.Fatalf("stopped term = %d", term)
	}
	select {
	case err := <-done:
		t.Fatalf("the process ended when the Lease was lost: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	apiDown.Store(false)
	if term := wait(terms, "a second term once the API server is back"); term != 2 {
		t.Fatalf("second term = %d", term)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop after its context ended")
	}
}
