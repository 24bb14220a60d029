//go:build e2e && unix

package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// TestUpCancelsAtOnce saves again right after each build starts, first while the base
// images are being pinned, then while the solve is starting: every superseded build
// must end at once (BuildKit's client takes 5 s to return from a solve cancelled before
// the daemon created its job; devloop must not wait for that), and BuildKit's session
// noise (http2 server errors written with the standard log package) must not reach the
// terminal.
func TestUpCancelsAtOnce(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := e2etest.ExampleProject(t, `
build_args: {APP_VERSION: cancel-e2e}
targets:
  server: {stage: server, output: .}
watch: {debounce: 20ms}
`)
	up := startUp(t, dir) // --pin is the default
	reEnd := regexp.MustCompile(`^\[devloop\] build (ok|failed|cancelled) #(\d+) in ([0-9.]+)s`)
	cancelled := 0
	for round := 1; round <= 4; round++ {
		up.WaitLines(reStarted, round, 2*time.Minute)
		e2etest.WriteFile(t, filepath.Join(dir, "cmd", "server", "edit.go"), fmt.Sprintf("package main\n\nconst edit = %d\n", round))
		m := up.WaitLines(reEnd, round, 2*time.Minute)
		if m[1] != "cancelled" {
			continue // the build ended before the save arrived
		}
		cancelled++
		if took, _ := strconv.ParseFloat(m[3], 64); took > 2 {
			t.Errorf("build #%s was cancelled after %ss, want at once (BuildKit's 5 s teardown not waited for)", m[2], m[3])
		}
	}
	up.WaitLines(reOK, 1, 2*time.Minute)
	if cancelled == 0 {
		t.Fatal("no build was superseded: the test saved too late to cancel one")
	}
	for _, l := range strings.Split(up.Output(), "\n") {
		if strings.Contains(l, "http2:") || strings.Contains(l, "SendMsg called after CloseSend") || strings.Contains(l, "PROTOCOL_ERROR") {
			t.Errorf("BuildKit session noise reached the output: %q", l)
		}
	}
}
