// Command coredns is the DNS server behind the conformance suite's coredns pod: CoreDNS's own
// entry point, built from the module proxy at the version go.mod pins (the image's tag), with
// only the plugins that pod's Corefile uses (forward, log, errors, whoami) plus health and ready,
// so that a pod may probe it as the kube-dns Deployment does. The rest of CoreDNS's plugins
// (kubernetes, etcd, the cloud DNS providers) would pull in dependency graphs nothing here needs.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/whoami"
)

func main() {
	coremain.Run()
}
