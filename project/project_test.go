package project

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/exporter"
	"github.com/devloop/devloop/watcher"
)

// TestWaitNotices: a swap waiting for another devloop process is said once per target.
func TestWaitNotices(t *testing.T) {
	var out bytes.Buffer
	n := newWaitNotices(&out)
	server, client := n.hook("server"), n.hook("client")
	server("devloop up (pid 42)")
	server("devloop up (pid 42)")
	client("devloop build (pid 43)")
	want := "[devloop] waiting for devloop up (pid 42) to finish exporting server…\n" +
		"[devloop] waiting for devloop build (pid 43) to finish exporting client…\n"
	if got := out.String(); got != want {
		t.Errorf("notices = %q, want %q", got, want)
	}
}

// A directory whose name starts with ".." (here "..cache") is inside the context: the
// files devloop exported there are excluded from the build context and shown relative
// to the project, like those of any other directory (they were taken for paths
// outside the context).
func TestOutputsInDotDotNamedDir(t *testing.T) {
	dir := t.TempDir()
	p := &Project{cfg: &config.Config{Dir: dir, Context: dir}, outputs: exporter.NewOutputs()}
	exported := filepath.Join(dir, "..cache", "bin", "server")
	p.outputs.Add(exported)
	p.outputs.Add(filepath.Join(filepath.Dir(dir), "elsewhere", "server")) // outside: left out

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
	if !p.isOutput("..cache") {
		t.Errorf("isOutput(..cache) = false, want true: it holds an exported file")
	}
	if p.isOutput("..cach") {
		t.Errorf("isOutput(..cach) = true, want false")
	}
}
