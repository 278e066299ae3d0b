package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/khulnasoft/gateway/controller/ir"
	"github.com/khulnasoft/gateway/kengine"
)

var update = flag.Bool("update", false, "rewrite kengine.json beside every ir.yaml under controller/testdata/golden")

// goldenRoot holds one directory per case; render owns the ir.yaml → kengine.json half.
const goldenRoot = "../testdata/golden"

// TestGolden renders every ir.yaml under goldenRoot and compares the bytes the controller
// would push (kengine.Finalize), indented for review, with the kengine.json beside it.
func TestGolden(t *testing.T) {
	var dirs []string
	err := filepath.WalkDir(goldenRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "ir.yaml" {
			dirs = append(dirs, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatalf("no ir.yaml under %s", goldenRoot)
	}
	for _, dir := range dirs {
		name, _ := filepath.Rel(goldenRoot, dir)
		t.Run(filepath.ToSlash(name), func(t *testing.T) {
			got := renderGolden(t, filepath.Join(dir, "ir.yaml"))
			if again := renderGolden(t, filepath.Join(dir, "ir.yaml")); !bytes.Equal(got, again) {
				t.Fatal("rendering the same model twice gave different bytes")
			}
			golden := filepath.Join(dir, "kengine.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./controller/render -run TestGolden -update)", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")); diff != "" {
				t.Errorf("rendered config differs from %s (-want +got); rerun with -update and review the diff:\n%s", golden, diff)
			}
		})
	}
}

// renderGolden decodes a model strictly (a misspelt field fails the case) and returns its
// finalized config, indented, after checking that rendering left the model unchanged.
func renderGolden(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var gw ir.Gateway
	if err := yaml.UnmarshalStrict(data, &gw); err != nil {
		t.Fatalf("decoding %s: %v", path, err)
	}
	cfg, err := Config(&gw, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	// Render must leave its input alone: translate's model may be cached and reused.
	var fresh ir.Gateway
	if err := yaml.UnmarshalStrict(data, &fresh); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fresh, gw); diff != "" {
		t.Fatalf("render changed its model (-before +after):\n%s", diff)
	}
	final, _, err := kengine.Finalize(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, final, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	return pretty.Bytes()
}
