package integration

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
	"testing"
	"time"
)

// processSecret is in the environment of every Kengine process the tests start; a config that
// makes Kengine reveal it has let route data reach a placeholder.
const (
	processSecretEnv   = "KENGINE_INTEGRATION_SECRET"
	processSecretValue = "kengine-process-secret-d41d8cd9"
)

// kengineProcess is one Kengine server run as a child process, programmed only through its
// Admin API on 127.0.0.1:adminPort.
type kengineProcess struct {
	t         testing.TB
	dir       string
	bootstrap string
	logPath   string
	adminPort int
	// bin is the server binary; kengineBin unless a test asks for another build.
	bin string

	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// startKengine starts Kengine with a bootstrap config that holds only the admin listener and
// waits until the Admin API answers. The process is killed when the test ends.
func startKengine(t testing.TB) *kengineProcess {
	t.Helper()
	return startKengineWith(t, func(adminListen string) any {
		return map[string]any{"admin": map[string]any{"listen": adminListen}}
	})
}

// startKengineWith starts Kengine with the bootstrap config that bootstrap returns for the
// plain admin address (which must stay in it: the harness waits on it).
func startKengineWith(t testing.TB, bootstrap func(adminListen string) any) *kengineProcess {
	t.Helper()
	return startKengineBin(t, kengineBin, bootstrap)
}

// startKengineBin is startKengineWith for another server binary.
func startKengineBin(t testing.TB, bin string, bootstrap func(adminListen string) any) *kengineProcess {
	t.Helper()
	dir := t.TempDir()
	p := &kengineProcess{
		bin:       bin,
		t:         t,
		dir:       dir,
		bootstrap: filepath.Join(dir, "bootstrap.json"),
		logPath:   filepath.Join(dir, "kengine.log"),
		adminPort: freePort(t),
	}
	boot, err := json.Marshal(bootstrap(p.adminListen()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.bootstrap, boot, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			p.logTail()
		}
	})
	p.start()
	return p
}

// adminListen is the admin address of the bootstrap config; every pushed config keeps it.
func (p *kengineProcess) adminListen() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.adminPort))
}

// start runs the binary with the bootstrap config and waits for the Admin API.
func (p *kengineProcess) start() {
	p.t.Helper()
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(p.bin, "run", "--config", p.bootstrap)
	// Kengine keeps its data and autosaved config under these directories: keep them in the
	// test's temporary directory.
	cmd.Env = append(os.Environ(),
		"HOME="+p.dir,
		"XDG_CONFIG_HOME="+filepath.Join(p.dir, "config"),
		"XDG_DATA_HOME="+filepath.Join(p.dir, "data"),
		processSecretEnv+"="+processSecretValue,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting %s: %v", p.bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	p.cmd, p.done = cmd, done

	url := "http://" + p.adminListen() + "/config/"
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	eventually(p.t, 20*time.Second, "Kengine Admin API at "+url, func() error {
		select {
		case <-done:
			return errStop{fmt.Errorf("kengine exited: %v", cmd.ProcessState)}
		default:
		}
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	})
}

// stop kills the process (by its PID) and waits for it to exit. It is a no-op when the
// process is not running.
func (p *kengineProcess) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.cmd, p.done = nil, nil
}

// restart kills the process and starts a fresh one with the bootstrap config, as a pod
// restart does: the new process has lost every pushed config.
func (p *kengineProcess) restart() {
	p.t.Helper()
	p.stop()
	p.start()
}

// logTail shows the end of Kengine's log after a failure.
func (p *kengineProcess) logTail() {
	data, err := os.ReadFile(p.logPath)
	if err != nil {
		p.t.Logf("kengine log: %v", err)
		return
	}
	const max = 8 << 10
	if len(data) > max {
		data = data[len(data)-max:]
	}
	p.t.Logf("kengine log (last %d bytes):\n%s", len(data), data)
}

// errStop makes eventually give up at once.
type errStop struct{ error }

// eventually polls check until it succeeds, fails with errStop, or timeout passes. The pause
// between polls only paces the loop; correctness never depends on it.
func eventually(t testing.TB, timeout time.Duration, what string, check func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		err := check()
		if err == nil {
			return
		}
		var stop errStop
		if errors.As(err, &stop) {
			t.Fatalf("waiting for %s: %v", what, stop.error)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: still failing after %v: %v", what, timeout, err)
		case <-ticker.C:
		}
	}
}

// freePort returns a TCP port that was free on every interface a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	return freePortRun(t, 1)
}

// Listener ports are picked below the kernel's ephemeral range (32768 and up by default), so
// that no outgoing connection of a parallel test and no ":0" listener can take a port between
// the check and Kengine binding it; a port handed out once is never handed out again.
const (
	listenerPortMin = 20000
	listenerPortMax = 32767
)

var (
	portsMu     sync.Mutex
	portsHanded = map[int]bool{}
)

// freePortRun returns the first of n consecutive ports that were free on every interface a
// moment ago and that no other test of this process was given (the health server needs three
// in a row).
func freePortRun(t testing.TB, n int) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 1000 {
		first := listenerPortMin + rand.IntN(listenerPortMax-listenerPortMin-n+2)
		handed := false
		for p := first; p < first+n; p++ {
			handed = handed || portsHanded[p]
		}
		if handed || !portsFree(first, n) {
			continue
		}
		for p := first; p < first+n; p++ {
			portsHanded[p] = true
		}
		return first
	}
	t.Fatalf("found no %d consecutive free ports", n)
	return 0
}

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
