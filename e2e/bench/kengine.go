package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// hostEnv is the environment variable that tells a Kengine process its own loopback address;
// configs say {env.KENGINE_BENCH_HOST} wherever they bind, so one config serves every process
// of a fan-out on its own address.
const hostEnv = "KENGINE_BENCH_HOST"

// kengineProcess is one standalone Kengine server, programmed only through its Admin API on
// host:adminPort.
type kengineProcess struct {
	bin       string
	dir       string
	host      string
	adminPort int

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startKengine runs bin with a bootstrap config that holds only the admin listener on
// host:adminPort (accepting the Host headers origins when set), in its own directory under
// dir, and waits until the Admin API answers.
func startKengine(ctx context.Context, bin, dir, host string, adminPort int, origins []string) (*kengineProcess, error) {
	p := &kengineProcess{bin: bin, dir: dir, host: host, adminPort: adminPort}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	admin := map[string]any{"listen": p.adminAddr()}
	if origins != nil {
		admin["origins"] = origins
	}
	boot, err := json.Marshal(map[string]any{"admin": admin})
	if err != nil {
		return nil, err
	}
	bootstrap := filepath.Join(dir, "bootstrap.json")
	if err := os.WriteFile(bootstrap, boot, 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "kengine.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(bin, "run", "--config", bootstrap)
	cmd.Env = append(os.Environ(),
		"HOME="+dir,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		hostEnv+"="+host,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// The kernel kills Kengine if the suite dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p.cmd, p.done = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	if err := p.waitAdmin(ctx, 30*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("kengine on %s (log in %s): %w", p.adminAddr(), dir, err)
	}
	return p, nil
}

// adminAddr is where the Admin API listens; every pushed config keeps it.
func (p *kengineProcess) adminAddr() string {
	return net.JoinHostPort(p.host, strconv.Itoa(p.adminPort))
}

func (p *kengineProcess) waitAdmin(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	url := "http://" + p.adminAddr() + "/config/"
	for {
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.cmd.ProcessState)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("admin API not answering: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop kills the process by its PID and waits for it to exit.
func (p *kengineProcess) stop() {
	if p == nil || p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cmd = nil
}

// stopAll stops every process, in parallel.
func stopAll(ps []*kengineProcess) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(p.stop)
	}
	wg.Wait()
}

// Listener ports come from below the kernel's ephemeral range (32768 and up by default), so
// that no outgoing connection takes one between the check and Kengine binding it, and a port
// handed out once is never handed out again (as in e2e/integration).
const (
	listenerPortMin = 20000
	listenerPortMax = 32767
)

// portAllocator hands out runs of ports that were free on every interface a moment ago.
type portAllocator struct {
	mu     sync.Mutex
	handed map[int]bool
}

var ports = &portAllocator{handed: map[int]bool{}}

// run returns the first of n consecutive free ports.
func (a *portAllocator) run(n int) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for range 1000 {
		first := listenerPortMin + rand.IntN(listenerPortMax-listenerPortMin-n+2)
		taken := false
		for p := first; p < first+n; p++ {
			taken = taken || a.handed[p]
		}
		if taken || !portsFree(first, n) {
			continue
		}
		for p := first; p < first+n; p++ {
			a.handed[p] = true
		}
		return first, nil
	}
	return 0, errors.New("found no free run of ports")
}

// one returns one free port.
func (a *portAllocator) one() (int, error) { return a.run(1) }

func portsFree(first, n int) bool {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			_ = ln.Close()
		}
	}()
	for port := first; port < first+n; port++ {
		ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
		if err != nil {
			return false
		}
		held = append(held, ln)
	}
	return true
}
