//go:build e2e && linux

package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

var reOKOrFailed = regexp.MustCompile(`^\[devloop\] build (ok|failed) #(\d+)`)

// TestRegistryLoss stops the registry after the first build while `devloop up` runs
// (fault 3). The rebuild after a source change must succeed and be served: the first
// build pinned the FROM images and the `# syntax` frontend to digests for the session.
// Once the registry is back the next change must build and be served too. A new
// `devloop build` process, which has pinned nothing yet, must succeed or fail with a
// message naming the registry (the test logs which; the example without its
// `# syntax` line shows whether the FROM image alone needs the registry).
func TestRegistryLoss(t *testing.T) {
	tb := privateTestbed(t)
	tb.restoreAfter(t)
	cycles := scaled(t, 1, 3)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := e2etest.ExampleProject(t, serverYAML(port))
	noSyntax := e2etest.ExampleProject(t, "targets: {server: {output: .}}\n")
	df := filepath.Join(noSyntax, "Dockerfile")
	data, err := os.ReadFile(df)
	if err != nil {
		t.Fatal(err)
	}
	e2etest.WriteFile(t, df, regexp.MustCompile(`(?m)^# syntax=.*\n`).ReplaceAllString(string(data), ""))
	mustBuild(t, noSyntax, tb.env()...)

	up := startUp(t, dir, tb.env())
	up.WaitFirstBuild(10 * time.Minute)
	served := "hello from greeter"
	e2etest.WaitServes(t, url, served, time.Minute)

	for i := range cycles {
		tb.kill(t, "registry", syscall.SIGTERM)
		if !tb.registryDown() {
			t.Fatalf("registry %s still answers after it was stopped", tb.registry)
		}
		pid := servingPID(t, up)
		from := up.Len()
		text := fmt.Sprintf("no registry %d", i)
		e2etest.SetGreeting(t, dir, text)
		_, m := up.WaitLine(reOKOrFailed, from, 2*time.Minute)
		if m[1] != "ok" {
			lines := strings.Join(up.Since(from), "\n")
			t.Errorf("cycle %d: the rebuild with the registry down failed, want it to succeed with the images pinned by the first build (named the registry %s: %v):\n%s",
				i, tb.registry, strings.Contains(lines, tb.registry), lines)
			if got, err := e2etest.Get(url); err != nil || got != served {
				t.Errorf("cycle %d: after the failed rebuild GET / = %q (err %v), want the old %q", i, got, err, served)
			}
			if got := servingPID(t, up); got != pid {
				t.Errorf("cycle %d: server pid = %d after the failed rebuild, want still %d", i, got, pid)
			}
		} else {
			e2etest.WaitServes(t, url, text, time.Minute)
			served = text
			t.Logf("cycle %d: with the registry down the rebuild succeeded and is served (pinned digests)", i)
		}
		if i == 0 {
			e2etest.SetGreeting(t, noSyntax, text)
			r := runDevloop(t, noSyntax, tb.env(), "build", "--progress", "quiet")
			switch {
			case r.Code == 0:
				t.Logf("a new devloop build (no # syntax line) succeeds with the registry down")
			case strings.Contains(r.Stdout+r.Stderr, tb.registry):
				t.Logf("a new devloop build (no # syntax line) fails with the registry down, naming it (exit %d): %s",
					r.Code, lineWith(r.Stdout+r.Stderr, tb.registry))
			default:
				t.Errorf("a new devloop build with the registry down failed without naming the registry %s:\n%v", tb.registry, r)
			}
		}

		tb.up(t)
		served = fmt.Sprintf("registry back %d", i)
		e2etest.SetGreeting(t, dir, served)
		e2etest.WaitServes(t, url, served, 2*time.Minute)
	}
	if code := up.Stop(syscall.SIGINT, time.Minute); code != 0 {
		t.Errorf("devloop up exit code after SIGINT = %d, want 0", code)
	}
}

// lineWith returns the first line of s that contains sub.
func lineWith(s, sub string) string {
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// firstLines returns the first n lines of s.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
