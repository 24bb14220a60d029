//go:build e2e && unix

package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// TestBuildAndExplainDuringUp: with `devloop up` running (the VS Code "up" task),
// `devloop explain` and `devloop build` (the default build task) work instead of being
// refused as bad usage; a build that swaps in a binary first still leaves up serving
// it; only a second `devloop up` of the same target is refused, naming the first.
func TestBuildAndExplainDuringUp(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir, url := serverProject(t)
	up := startUp(t, dir)
	up.WaitLines(reOK, 1, 5*time.Minute)
	e2etest.WaitServes(t, url, "hello from greeter", time.Minute)
	pid1 := up.WaitLines(rePID, 1, time.Minute)[1]

	ex := runDevloop(t, dir, "explain", "devloop.yaml", "cmd/server/main.go", "bin/server")
	if ex.Code != 0 {
		t.Fatalf("devloop explain during devloop up: %v", ex)
	}
	for _, want := range []string{
		"devloop.yaml: watched, not in the build context",
		"cmd/server/main.go: watched, in the build context",
		"bin/server: not watched, not in the build context — devloop output",
	} {
		if !strings.Contains(ex.Stdout, want) {
			t.Errorf("explain output lacks %q:\n%v", want, ex)
		}
	}

	r := runDevloop(t, dir, "build", "--progress", "quiet")
	if r.Code != 0 || !strings.Contains(r.Stdout, "[devloop] build ok") {
		t.Fatalf("devloop build during devloop up (nothing changed): %v", r)
	}

	// An edit, built by the build task and by up at the same time: whichever swaps
	// first, up ends up serving the new code from a new process.
	e2etest.SetGreeting(t, dir, "hello from the build task")
	r = runDevloop(t, dir, "build", "--progress", "quiet")
	if r.Code != 0 {
		t.Fatalf("devloop build of an edit during devloop up: %v", r)
	}
	e2etest.WaitServes(t, url, "hello from the build task", 2*time.Minute)
	if pid2 := up.WaitLines(rePID, 2, time.Minute)[1]; pid2 == pid1 {
		t.Errorf("server pid after the edit = %s, want a new process", pid2)
	}

	second := runDevloop(t, dir, "up", "server")
	if want := fmt.Sprintf("devloop up (pid %d) is already running it", up.PID()); second.Code != 2 || !strings.Contains(second.Stderr, want) {
		t.Errorf("second devloop up: want exit 2 and %q\n%v", want, second)
	}

	if code := up.Stop(os.Interrupt, 30*time.Second); code != 0 {
		t.Errorf("devloop up exit code after SIGINT = %d, want 0", code)
	}
}
