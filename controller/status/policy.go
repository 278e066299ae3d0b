package status

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// maxPolicyAncestors is the most entries the API server accepts in status.ancestors.
const maxPolicyAncestors = 16

// PolicyResult is the status one Gateway owns in one BackendTLSPolicy.
type PolicyResult struct {
	// Policy is the policy as read from the cache.
	Policy *gatewayv1.BackendTLSPolicy
	// Ancestors are the entries for the Gateway; none when the Gateway no longer uses the
	// policy, so that a stale entry goes.
	Ancestors []gatewayv1.PolicyAncestorStatus
}

// WritePolicy replaces this controller's entries for one Gateway in a BackendTLSPolicy's
// status.ancestors and keeps every other entry (other Gateways, other controllers). When the
// list is full, a new entry is left out rather than another Gateway's removed.
func (w *Writer) WritePolicy(ctx context.Context, gwNamespace, gwName string, pr PolicyResult) error {
	p := pr.Policy
	c := w.client.GatewayV1().BackendTLSPolicies(p.Namespace)
	err := update(ctx, w.timeout, p, func(cur *gatewayv1.BackendTLSPolicy) (*gatewayv1.BackendTLSPolicy, bool) {
		ancestors, changed := w.mergeAncestors(cur.Status.Ancestors, gwNamespace, gwName, pr.Ancestors)
		if !changed {
			return nil, false
		}
		upd := cur.DeepCopy()
		upd.Status.Ancestors = ancestors
		return upd, true
	}, func(ctx context.Context, upd *gatewayv1.BackendTLSPolicy) error {
		_, err := c.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		return err
	}, func(ctx context.Context) (*gatewayv1.BackendTLSPolicy, error) {
		return c.Get(ctx, p.Name, metav1.GetOptions{})
	})
	if err != nil {
		return fmt.Errorf("writing status of BackendTLSPolicy %s/%s: %w", p.Namespace, p.Name, err)
	}
	return nil
}

// mergeAncestors returns existing with the entries this controller wrote for the Gateway
// replaced by desired, and whether anything changed; the list never grows past the API's
// maximum.
func (w *Writer) mergeAncestors(existing []gatewayv1.PolicyAncestorStatus, gwNamespace, gwName string, desired []gatewayv1.PolicyAncestorStatus) ([]gatewayv1.PolicyAncestorStatus, bool) {
	return mergeEntries(w.now(), existing, desired, maxPolicyAncestors,
		func(a *gatewayv1.PolicyAncestorStatus) bool {
			// An ancestorRef always carries its namespace; "" stands for nothing here.
			return a.ControllerName == w.controllerName && ParentIsGateway(a.AncestorRef, "", gwNamespace, gwName)
		},
		func(a *gatewayv1.PolicyAncestorStatus) any { return a.AncestorRef },
		func(a *gatewayv1.PolicyAncestorStatus) *[]metav1.Condition { return &a.Conditions })
}
