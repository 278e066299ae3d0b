package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// kengineBin is the Kengine test server every test runs, resolved once by TestMain.
var kengineBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	bin, cleanup, err := resolveKengineBinary()
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	defer cleanup()
	kengineBin = bin
	return m.Run()
}

// resolveKengineBinary returns $KENGINE_BIN, or builds the server from ../tools/kengine into a
// temporary directory when it is unset, so that the tests never skip for lack of a binary.
func resolveKengineBinary() (bin string, cleanup func(), err error) {
	if env := os.Getenv("KENGINE_BIN"); env != "" {
		abs, err := filepath.Abs(env)
		if err != nil {
			return "", nil, fmt.Errorf("KENGINE_BIN=%s: %w", env, err)
		}
		if _, err := os.Stat(abs); err != nil {
			return "", nil, fmt.Errorf("KENGINE_BIN=%s: %w (make kengine builds it)", env, err)
		}
		return abs, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "kengine-integration-bin-")
	if err != nil {
		return "", nil, fmt.Errorf("creating a directory for the Kengine build: %w", err)
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	bin = filepath.Join(dir, "kengine")
	fmt.Fprintln(os.Stderr, "integration: KENGINE_BIN is unset, building the Kengine test server from ../tools/kengine")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join("..", "tools", "kengine")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("building the Kengine test server: %w", err)
	}
	return bin, cleanup, nil
}
