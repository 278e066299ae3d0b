// Package addresses owns a Gateway's spec.addresses: which entries the controller can honour,
// what it asks the Kengine Service's load balancer for, and whether what the load balancer
// assigned satisfies the request.
package addresses

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// ServiceAnnotation on a managed Kengine Service lists, comma-separated, the IP addresses its
// Gateway asks the load balancer for. Kubernetes has no portable field for several addresses
// (spec.loadBalancerIP holds one and is deprecated), so load balancers that want the request
// read this annotation; the local environment's node agent does.
const ServiceAnnotation = "kengine.khulnasoft.com/load-balancer-ips"

// Request is what a Gateway's spec.addresses asks for.
type Request struct {
	// IPs are the static IP addresses asked for, in spec order.
	IPs []netip.Addr
	// AnyIPs counts the IPAddress entries without a value: each asks for an address the load
	// balancer picks.
	AnyIPs int
	// Unsupported describes the entries of a type the controller cannot ask a Service's load
	// balancer for (Hostname, NamedAddress, domain-prefixed types).
	Unsupported []string
	// Invalid are IPAddress values that are not IP addresses.
	Invalid []string
}

// FromSpec reads a Gateway's spec.addresses. An entry without a type is an IPAddress, the
// API's default.
func FromSpec(spec []gatewayv1.GatewaySpecAddress) Request {
	var r Request
	for _, a := range spec {
		t := gatewayv1.IPAddressType
		if a.Type != nil {
			t = *a.Type
		}
		switch {
		case t != gatewayv1.IPAddressType:
			r.Unsupported = append(r.Unsupported, fmt.Sprintf("%s %q", t, a.Value))
		case a.Value == "":
			r.AnyIPs++
		default:
			ip, err := netip.ParseAddr(a.Value)
			if err != nil || ip.Zone() != "" {
				r.Invalid = append(r.Invalid, a.Value)
				continue
			}
			if ip = ip.Unmap(); !slices.Contains(r.IPs, ip) {
				r.IPs = append(r.IPs, ip)
			}
		}
	}
	return r
}

// Annotation is the ServiceAnnotation value for the request's static IPs; "" when it has none.
func (r Request) Annotation() string {
	out := make([]string, len(r.IPs))
	for i, ip := range r.IPs {
		out[i] = ip.String()
	}
	return strings.Join(out, ",")
}

// NotAccepted returns the reason and message of Accepted=False when the Gateway asks for
// addresses the controller cannot even request: ok is false when it can.
func (r Request) NotAccepted() (reason gatewayv1.GatewayConditionReason, msg string, ok bool) {
	switch {
	case len(r.Unsupported) > 0:
		return gatewayv1.GatewayReasonUnsupportedAddress, fmt.Sprintf(
			"unsupported address %s: the Kengine Service's load balancer can only be asked for IP addresses (type IPAddress)",
			strings.Join(r.Unsupported, ", ")), true
	case len(r.Invalid) > 0:
		return gatewayv1.GatewayReasonInvalid, fmt.Sprintf("IPAddress value %q is not an IP address", strings.Join(r.Invalid, `", "`)), true
	}
	return "", "", false
}

// Unmet compares the request with the addresses the load balancer assigned (the Service's
// status.loadBalancer.ingress) and returns the reason and message of Programmed=False when
// they do not satisfy it; ok is false when they do.
//
// A requested address the load balancer left out although it assigned others is
// AddressNotUsable: the load balancer has acted on the Service and will not give it (outside
// its pool, or taken). While it has assigned nothing, a missing address is AddressNotAssigned:
// it may still come. Entries without a value are met by assigned addresses nobody asked for by
// value; the ones left over are AddressNotAssigned, as the specification asks of an
// implementation that cannot assign one.
func (r Request) Unmet(assigned []gatewayv1.GatewayStatusAddress) (reason gatewayv1.GatewayConditionReason, msg string, ok bool) {
	if len(assigned) == 0 && len(r.IPs) == 0 {
		return gatewayv1.GatewayReasonAddressNotAssigned, "the Gateway's Service has no load-balancer address yet", true
	}
	var got []netip.Addr
	var gotText []string
	for _, a := range assigned {
		gotText = append(gotText, a.Value)
		if a.Type != nil && *a.Type != gatewayv1.IPAddressType {
			continue
		}
		if ip, err := netip.ParseAddr(a.Value); err == nil {
			got = append(got, ip.Unmap())
		}
	}
	var missing []string
	for _, ip := range r.IPs {
		if !slices.Contains(got, ip) {
			missing = append(missing, ip.String())
		}
	}
	if len(missing) > 0 {
		if len(assigned) == 0 {
			return gatewayv1.GatewayReasonAddressNotAssigned, fmt.Sprintf(
				"the load balancer of the Gateway's Service has not assigned the requested %s yet", strings.Join(missing, ", ")), true
		}
		return gatewayv1.GatewayReasonAddressNotUsable, fmt.Sprintf(
			"the load balancer of the Gateway's Service did not assign the requested %s (it assigned %s): request addresses from its pool that no other Service holds",
			strings.Join(missing, ", "), strings.Join(gotText, ", ")), true
	}
	extra := 0
	for _, ip := range got {
		if !slices.Contains(r.IPs, ip) {
			extra++
		}
	}
	if extra < r.AnyIPs {
		return gatewayv1.GatewayReasonAddressNotAssigned, fmt.Sprintf(
			"%d IPAddress entries without a value ask the load balancer to pick addresses, and it picked %d beyond the requested ones (a load balancer that honours requested addresses may pick none next to them)",
			r.AnyIPs, extra), true
	}
	return "", "", false
}
