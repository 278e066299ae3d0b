package render

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Render sees only the model and Kengine's types: the IR is the boundary, so no Kubernetes or
// Gateway API package may be imported here (tests included, test helpers aside).
func TestImportsStayBelowTheIR(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"github.com/khulnasoft/gateway/controller/ir": true,
		"github.com/khulnasoft/gateway/kengine":       true,
	}
	testOnly := map[string]bool{"github.com/google/go-cmp/cmp": true, "github.com/google/go-cmp/cmp/cmpopts": true, "sigs.k8s.io/yaml": true}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		isTest := strings.HasSuffix(e.Name(), "_test.go")
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			stdlib := !strings.Contains(strings.Split(path, "/")[0], ".")
			if stdlib || allowed[path] || (isTest && testOnly[path]) {
				continue
			}
			t.Errorf("%s imports %s: render may import only the standard library, controller/ir and kengine", e.Name(), path)
		}
	}
}
