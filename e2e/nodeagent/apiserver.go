package nodeagent

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
)

// The kubernetes Service stands for the API server inside a cluster: kubelet gives every
// container KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, and client-go's in-cluster
// configuration dials them. This node has no service proxy and pods have no route beyond the
// pod subnet, so the agent relays the node's own address on the pod network (the bridge) to
// the API server and gives containers that address instead of the Service's cluster IP. The
// API server's certificate must name the bridge address.

// apiServerEnv is the environment kubelet derives from the kubernetes Service, pointing at
// the relay; nil when the agent relays no API server.
func (a *Agent) apiServerEnv() []string {
	if !a.apiRelay.IsValid() {
		return nil
	}
	host, port := a.apiRelay.Addr().String(), strconv.Itoa(int(a.apiRelay.Port()))
	return []string{
		"KUBERNETES_SERVICE_HOST=" + host,
		"KUBERNETES_SERVICE_PORT=" + port,
		"KUBERNETES_SERVICE_PORT_HTTPS=" + port,
		"KUBERNETES_PORT=tcp://" + net.JoinHostPort(host, port),
	}
}

// relayAPIServer listens on the bridge address, on the API server's own port, and relays
// every connection to the API server (TLS passes through untouched: clients verify the API
// server itself). It returns the relay's address.
func (a *Agent) relayAPIServer(ctx context.Context, target string) (*tcpForwarder, netip.AddrPort, error) {
	_, portStr, err := net.SplitHostPort(target)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("API server address %q: %w", target, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("API server address %q: %w", target, err)
	}
	listen := netip.AddrPortFrom(a.network.GatewayIP(), uint16(port))
	b := &backendSet{}
	b.set([]string{target})
	f, err := newTCPForwarder(ctx, listen.String(), b)
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("relaying the API server on the pod network: %w", err)
	}
	return f, listen, nil
}
