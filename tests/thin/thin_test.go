// Package thin holds the bindings to being thin hosts of the one reader:
// the Git lifecycle (which commands, with which arguments, when) belongs
// to core/reader, so no binding source may spell a Git command line.
package thin

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/agent-vault/agent-vault/internal/clitest"
)

// lifecycle matches what a binding would write if it ran Git itself.
// ("pull" alone is also the name of the module's pull op, so it is not
// matched; --ff-only is what a binding's own pull would need.)
var lifecycle = regexp.MustCompile(`rev-parse|--ff-only|@\{upstream\}|["'\x60]clone["'\x60]|ls-remote|--show-toplevel`)

// sources are the hand-written sources of each binding.
var sources = []string{
	"bindings/python/src",
	"bindings/node",
	"bindings/js",
	"bindings/web/src",
	"bindings/web/index.html",
}

func TestBindingsHaveNoGitLifecycle(t *testing.T) {
	root := clitest.Root()
	scanned := 0
	for _, rel := range sources {
		base := filepath.Join(root, rel)
		if _, err := os.Stat(base); err != nil {
			continue // bindings/js may not exist in every layout; others are checked below
		}
		filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "test" || d.Name() == "tests" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			switch filepath.Ext(p) {
			case ".py", ".js", ".mjs", ".cjs", ".ts", ".html":
			default:
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			scanned++
			for i, line := range strings.Split(string(data), "\n") {
				if m := lifecycle.FindString(line); m != "" {
					rp, _ := filepath.Rel(root, p)
					t.Errorf("%s:%d: %q: Git command lines belong to core/reader, not a binding", rp, i+1, m)
				}
			}
			return nil
		})
	}
	if scanned < 5 {
		t.Fatalf("scanned only %d binding sources: the layout changed, update this test", scanned)
	}
}
