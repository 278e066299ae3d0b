package tests

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestMetricsAndEvents is the operator's view of a working and a broken Gateway: the leader's
// /metrics (scraped from its pod, as Prometheus does) reports the pushes, config size,
// objects, stage timings and leadership of a Gateway that serves, and the Events of a
// Gateway with invalid parameters say why it is not accepted.
func TestMetricsAndEvents(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	ns := newNamespace(t)
	createEcho(t, ns, "echo", 1)
	createGateway(t, ns, "gw")
	createRoute(t, newRoute(ns, "web", "gw", nil, "echo"))
	createRoute(t, newRoute(ns, "api", "gw", []string{"api.example.com"}, "echo"))
	_, addr := waitProgrammed(t, ns, "gw")
	expectBackend(t, addr+":80", "", "/", ns, "echo")
	createGateway(t, ns, "broken", withInfrastructure(nil, nil, "no-such-configmap"))

	// The exposition lists labels sorted by name.
	gwLabels := fmt.Sprintf(`gateway="gw",namespace=%q`, ns)
	eventually(t, waitShort, "the leader's metrics for Gateway "+ns+"/gw", func() error {
		m, err := scrapeLeaderMetrics(ctx)
		if err != nil {
			return err
		}
		checks := []struct {
			series string
			ok     func(float64) bool
			want   string
		}{
			{"kengine_gateway_leader", func(v float64) bool { return v == 1 }, "1"},
			{fmt.Sprintf(`kengine_gateway_routes{gateway="gw",kind="HTTPRoute",namespace=%q}`, ns), func(v float64) bool { return v == 2 }, "2"},
			{`kengine_gateway_listeners{` + gwLabels + `}`, func(v float64) bool { return v == 1 }, "1"},
			{`kengine_gateway_rejected_routes{` + gwLabels + `}`, func(v float64) bool { return v == 0 }, "0"},
			{`kengine_gateway_config_size_bytes{` + gwLabels + `}`, func(v float64) bool { return v > 1000 }, "> 1000"},
			{`kengine_gateway_last_successful_push_timestamp_seconds{` + gwLabels + `}`, func(v float64) bool {
				return time.Since(time.Unix(int64(v), 0)) < 10*time.Minute
			}, "within the last minutes"},
			{`kengine_gateway_sync_stage_duration_seconds_count{stage="push"}`, func(v float64) bool { return v >= 1 }, ">= 1"},
			{`kengine_gateway_sync_stage_duration_seconds_count{stage="translate"}`, func(v float64) bool { return v >= 1 }, ">= 1"},
			{`controller_runtime_reconcile_total{controller="gateway",result="success"}`, func(v float64) bool { return v >= 1 }, ">= 1"},
		}
		var missing []string
		for _, c := range checks {
			v, found := m[c.series]
			if !found || !c.ok(v) {
				missing = append(missing, fmt.Sprintf("%s = %v (found %t), want %s", c.series, v, found, c.want))
			}
		}
		pushed := 0.0
		for series, v := range m {
			if strings.HasPrefix(series, "kengine_gateway_pushes_total{") && strings.Contains(series, gwLabels) &&
				strings.Contains(series, `result="ok"`) {
				pushed += v
			}
		}
		if pushed < 1 {
			missing = append(missing, "kengine_gateway_pushes_total{result=\"ok\"} for the Gateway's pod: none")
		}
		if len(missing) > 0 {
			return fmt.Errorf("%s", strings.Join(missing, "; "))
		}
		return nil
	})

	eventually(t, waitShort, "an InvalidParameters Warning on Gateway "+ns+"/broken", func() error {
		evs, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=broken,involvedObject.kind=Gateway"})
		if err != nil {
			return err
		}
		for _, e := range evs.Items {
			if e.Reason == "InvalidParameters" && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "no-such-configmap") {
				return nil
			}
		}
		return fmt.Errorf("events %v", eventSummaries(evs.Items))
	})
}

// eventSummaries is "reason: message" for each Event, for failure messages.
func eventSummaries(evs []corev1.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.Reason+": "+e.Message)
	}
	return out
}

// scrapeLeaderMetrics reads /metrics from the controller pod that holds the Lease, with the
// series (name and labels, as exposed) mapped to their values.
func scrapeLeaderMetrics(ctx context.Context) (map[string]float64, error) {
	pods, err := dev.ControllerPods(ctx)
	if err != nil {
		return nil, err
	}
	var errs []string
	for _, p := range pods {
		if p.Status.PodIP == "" || p.DeletionTimestamp != nil {
			continue
		}
		m, err := scrapeMetrics(ctx, net.JoinHostPort(p.Status.PodIP, "8080"))
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", p.Name, err))
			continue
		}
		if m["kengine_gateway_leader"] == 1 {
			return m, nil
		}
		errs = append(errs, p.Name+" is not the leader")
	}
	return nil, fmt.Errorf("no leader's metrics among the controller pods: %s", strings.Join(errs, "; "))
}

// scrapeMetrics reads a Prometheus text exposition into series → value.
func scrapeMetrics(ctx context.Context, hostPort string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+hostPort+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}
