package watcher

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDirVersion: every change in a watched directory changes its version before the
// watcher reports anything after it — including changes it does not report (a mode
// change, a watch-ignored file) — and unwatched directories are not vouched for.
func TestDirVersion(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "src", "main.go"), "package main")
	writeFile(t, filepath.Join(root, "src", "deep", "x.go"), "package deep")
	writeFile(t, filepath.Join(root, "other", "o.go"), "package other")
	writeFile(t, filepath.Join(root, "node_modules", "m.js"), "m")
	writeFile(t, filepath.Join(root, ".dockerignore"), "node_modules\n")
	h := startWatcher(t, RulesOptions{Root: root, Ignore: []string{"**/*.md"}})

	version := func(rel string) uint64 {
		t.Helper()
		v, ok := h.w.DirVersion(h.path(rel))
		if !ok {
			t.Fatalf("DirVersion(%s) not vouched for", rel)
		}
		return v
	}
	if _, ok := h.w.DirVersion(h.path("node_modules")); ok {
		t.Error("DirVersion(node_modules) vouched for a directory the watcher prunes")
	}
	if _, ok := h.w.DirVersion(filepath.Dir(root)); ok {
		t.Error("DirVersion vouched for a directory outside the context")
	}

	steps := []struct {
		name    string
		change  func()
		changed []string // directories whose version must change
		same    []string // and those whose must not (the sentinel is written in the root)
	}{
		{"write", func() { h.write("src/main.go") }, []string{"src"}, []string{"other", "src/deep"}},
		{"mode only (not reported)", func() {
			if err := os.Chmod(h.path("src/main.go"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, []string{"src"}, []string{"other"}},
		{"watch-ignored file (not reported)", func() { h.write("src/deep/README.md") }, []string{"src/deep", "src"}, []string{"other"}},
		{"new file: the directory's own mtime changes", func() { h.write("src/deep/y.go") }, []string{"src/deep", "src"}, []string{"other"}},
	}
	for _, s := range steps {
		before := map[string]uint64{}
		for _, d := range append(s.changed, s.same...) {
			before[d] = version(d)
		}
		s.change()
		h.expectNone() // the change's event, if any, has been handled
		for _, d := range s.changed {
			if version(d) == before[d] {
				t.Errorf("%s: version of %s unchanged", s.name, d)
			}
		}
		for _, d := range s.same {
			if version(d) != before[d] {
				t.Errorf("%s: version of %s changed", s.name, d)
			}
		}
	}

	// Lost events (the kernel queue overflowed; Run calls touchAll before its
	// rescan): every version changes, so a context cache reads everything again.
	before, deep := version("other"), version("src/deep")
	h.w.touchAll()
	if version("other") == before || version("src/deep") == deep {
		t.Error("an overflow left a directory's version unchanged")
	}

	// New rules: every version changes.
	before = version("other")
	applied, err := h.w.SetRules(newTestRules(t, RulesOptions{Root: root}))
	if err != nil {
		t.Fatal(err)
	}
	<-applied
	if version("other") == before {
		t.Error("SetRules left a directory's version unchanged")
	}

	// A removed directory is no longer vouched for.
	if err := os.RemoveAll(h.path("other")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("other")
	if _, ok := h.w.DirVersion(h.path("other")); ok {
		t.Error("DirVersion vouched for a removed directory")
	}
}
