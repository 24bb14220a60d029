package main

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/watcher"
)

// A directory whose name starts with ".." (here "..cache") is inside the context: the
// files devloop exported there are excluded from the build context and shown relative
// to the project, like those of any other directory (they were taken for paths
// outside the context).
func TestOutputsInDotDotNamedDir(t *testing.T) {
	dir := t.TempDir()
	p := &project{cfg: &config.Config{Dir: dir, Context: dir}, outputs: newPathSet()}
	exported := filepath.Join(dir, "..cache", "bin", "server")
	p.outputs.add(exported)
	p.outputs.add(filepath.Join(filepath.Dir(dir), "elsewhere", "server")) // outside: left out

	rules, err := watcher.NewRules(watcher.RulesOptions{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	ex := p.excludes(rules)
	if !slices.Contains(ex, "..cache/bin/server") {
		t.Errorf("excludes() = %q, want it to hold ..cache/bin/server", ex)
	}
	for _, e := range ex {
		if filepath.IsAbs(e) || e == ".." || len(e) > 2 && e[:3] == "../" {
			t.Errorf("excludes() holds %q, a path outside the context", e)
		}
	}
	if got, want := p.display(exported), "..cache/bin/server"; got != want {
		t.Errorf("display(%s) = %q, want %q", exported, got, want)
	}
	if !p.outputs.hasOrContains(filepath.Join(dir, "..cache")) {
		t.Errorf("hasOrContains(..cache) = false, want true: it holds an exported file")
	}
	if p.outputs.hasOrContains(filepath.Join(dir, "..cach")) {
		t.Errorf("hasOrContains(..cach) = true, want false")
	}
}

// relTo shows a path relative to a directory only when it is below it.
func TestRelTo(t *testing.T) {
	dir := filepath.FromSlash("/work/proj")
	tests := []struct{ path, want string }{
		{filepath.FromSlash("/work/proj/bin/server"), filepath.FromSlash("bin/server")},
		{filepath.FromSlash("/work/proj/..cache/x"), filepath.FromSlash("..cache/x")},
		{filepath.FromSlash("/work/other/x"), filepath.FromSlash("/work/other/x")},
		{filepath.FromSlash("/work"), filepath.FromSlash("/work")},
	}
	for _, tt := range tests {
		if got := relTo(dir, tt.path); got != tt.want {
			t.Errorf("relTo(%q, %q) = %q, want %q", dir, tt.path, got, tt.want)
		}
	}
}

// A tree of a target's inputs covers the paths below it, by whole path elements; the
// whole context (".") covers every path.
func TestInputSetCoversTrees(t *testing.T) {
	tests := []struct {
		trees []string
		p     string
		want  bool
	}{
		{[]string{"gen"}, "gen", true},
		{[]string{"gen"}, "gen/api/x.go", true},
		{[]string{"gen"}, "generated/x.go", false},
		{[]string{"..gen"}, "..gen/x.go", true},
		{[]string{"."}, "cmd/server/main.go", true},
	}
	for _, tt := range tests {
		s := &inputSet{dirs: map[string]bool{}, trees: tt.trees}
		if got := s.covers(tt.p); got != tt.want {
			t.Errorf("inputSet{trees: %q}.covers(%q) = %v, want %v", tt.trees, tt.p, got, tt.want)
		}
	}
}
