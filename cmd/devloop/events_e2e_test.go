//go:build e2e

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devloop/devloop/internal/e2etest"
)

// TestBuildEvents: `devloop build --events -` writes NDJSON to stdout (human output to
// stderr); a failed build's target_finished carries mapped error locations.
func TestBuildEvents(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := e2etest.ExampleProject(t, exampleYAML)
	handler := filepath.Join(dir, "cmd", "server", "handler.go")
	replaceInFile(t, handler, "return mux", "return mux +")
	r := runDevloop(t, dir, "build", "--progress", "quiet", "--events", "-")
	if r.Code != 1 {
		t.Fatalf("broken build: exit %d, want 1\n%v", r.Code, r)
	}
	if !strings.Contains(r.Stderr, "[devloop] build failed") {
		t.Errorf("human output not on stderr with --events -:\n%v", r)
	}
	events := e2etest.ValidateEvents(t, r.Stdout)
	var failed map[string]any
	for _, e := range events {
		if e["type"] == "target_finished" && e["target"] == "server" {
			failed = e
		}
	}
	if failed == nil || failed["ok"] != false {
		t.Fatalf("no failed target_finished for server in:\n%s", r.Stdout)
	}
	locs, _ := failed["locations"].([]any)
	if len(locs) == 0 {
		t.Fatalf("failed target_finished has no locations: %v", failed)
	}
	l := locs[0].(map[string]any)
	if l["file"] != "cmd/server/handler.go" || l["mapped"] != true {
		t.Errorf("location = %v, want mapped cmd/server/handler.go", l)
	}
	if _, err := os.Stat(filepath.Join(dir, l["file"].(string))); err != nil {
		t.Errorf("location file does not exist on the host: %v", err)
	}
}
