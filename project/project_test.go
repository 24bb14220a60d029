package project

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// A COPY of a file the context rules leave out fails with BuildKit's "not found": the
// failure says which rule and the line that sends it; a file that is really missing,
// or a COPY --from a stage, gets no hint.
func TestNotSentHint(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"data/seed.json", "main.go"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rules, err := watcher.NewRules(watcher.RulesOptions{Root: dir, Ignore: []string{"data/**"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Context: dir}
	p := &Project{cfg: cfg}
	p.live.Store(&liveState{cfg: cfg, rules: rules})
	const notFound = `failed to compute cache key: failed to calculate checksum of ref x::y: "/%s": not found`
	tests := []struct {
		step, missing, want string
	}{
		{"[b 2/2] COPY data/seed.json /s", "data/seed.json",
			`data/seed.json is not in the build context: devloop.yaml watch.ignore: "data/**": neither watched nor sent (a "!data/seed.json" line in .dockerignore sends it)`},
		{"[b 2/2] ADD data/seed.json /s", "data/seed.json", "data/seed.json is not in the build context"},
		{"[b 2/2] COPY data/other.json /s", "data/other.json", ""},          // really missing
		{"[b 2/2] COPY --from=gen data/seed.json /s", "data/seed.json", ""}, // from a stage
		{"[b 2/2] COPY main.go /s", "main.go", ""},                          // sent
		{"[b 3/3] RUN cat data/seed.json", "data/seed.json", ""},            // not a copy
	}
	for _, tt := range tests {
		got := p.notSentHint(tt.step, fmt.Sprintf(notFound, tt.missing))
		if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
			t.Errorf("notSentHint(%q) = %q, want %q", tt.step, got, tt.want)
		}
	}
}
