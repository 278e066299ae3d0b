package devenv

import (
	"context"
	"time"

	"github.com/khulnasoft/gateway/e2e/internal/proc"
)

// StopAPIServer stops the kube-apiserver, as an outage would: every client of the environment
// (the controller, kube-controller-manager, the node agent) loses the API until
// StartAPIServer. etcd keeps running, so nothing is lost.
func (e *Env) StopAPIServer() error {
	return proc.Stop(e.pidFile("kube-apiserver"), apiServerStopGrace)
}

// StartAPIServer starts the kube-apiserver again with the flags of Up and waits until it is
// ready.
func (e *Env) StartAPIServer(ctx context.Context) error {
	return e.start(ctx, e.apiServer())
}

// apiServerStopGrace is how long the kube-apiserver gets to exit on SIGTERM (it runs with
// --shutdown-delay-duration=0, so it exits within a second or two).
const apiServerStopGrace = 30 * time.Second
