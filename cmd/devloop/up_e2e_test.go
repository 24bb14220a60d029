//go:build e2e && unix

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// startUp starts `devloop up args...` in dir (the harness: e2etest.Up).
func startUp(t *testing.T, dir string, args ...string) *e2etest.Up {
	t.Helper()
	return e2etest.StartUp(t, devloopBin, dir, nil, args...)
}

var (
	reStarted = e2etest.BuildStarted
	reOK      = regexp.MustCompile(`^\[devloop\] build ok #(\d+)`)
	reFailed  = regexp.MustCompile(`^\[devloop\] build failed #(\d+)`)
	rePID     = regexp.MustCompile(`^server: started \(pid (\d+)\)`)
)

// TestUpExample drives `devloop up` on the example through real file edits.
func TestUpExample(t *testing.T) {
	e2etest.RequireBuildKit(t)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := e2etest.ExampleProject(t, fmt.Sprintf(`
build_args: {APP_VERSION: up-e2e}
targets:
  server:
    stage: server
    output: .
    run:
      command: [bin/server, --addr, "127.0.0.1:%d"]
      stop_timeout: 2s
      ready: %s
  client:
    stage: client
    output: .
watch:
  ignore: ["**/*.md"]
  debounce: 50ms
  on_busy: queue
`, port, url))
	eventsFile := filepath.Join(t.TempDir(), "events.ndjson")
	up := startUp(t, dir, "--events", eventsFile)

	// 1. First build, server starts and answers.
	up.WaitLines(reOK, 1, 5*time.Minute)
	e2etest.WaitServes(t, url, "hello from greeter", time.Minute)
	pid1 := up.WaitLines(rePID, 1, time.Minute)[1]

	// 2. An edit is served after the rebuild, by a new process.
	e2etest.SetGreeting(t, dir, "hello v2")
	e2etest.WaitServes(t, url, "hello v2", 2*time.Minute)
	pid2 := up.WaitLines(rePID, 2, time.Minute)[1]
	if pid2 == pid1 {
		t.Errorf("server pid after the edit = %s, want a new process (was %s)", pid2, pid1)
	}

	// 3. A compile error: the old server keeps serving, the error is shown.
	started := up.Count(reStarted)
	handler := filepath.Join(dir, "cmd", "server", "handler.go")
	replaceInFile(t, handler, "return mux", "return mux +")
	up.WaitLines(reFailed, 1, 2*time.Minute)
	if out := up.Output(); !strings.Contains(out, "handler.go:") || !strings.Contains(out, "syntax error") {
		t.Errorf("output lacks the compiler error")
	}
	if got, err := e2etest.Get(url); err != nil || got != "hello v2" {
		t.Errorf("after a failed build GET / = %q (err %v), want the old %q", got, err, "hello v2")
	}
	if n := up.Count(rePID); n != 2 {
		t.Errorf("server was started %d times after the failed build, want still 2", n)
	}

	// 4. Fixing it serves the next edit.
	replaceInFile(t, handler, "return mux +", "return mux")
	e2etest.SetGreeting(t, dir, "hello v3")
	e2etest.WaitServes(t, url, "hello v3", 2*time.Minute)

	// 5. Two edits while one build runs: the final server serves the second.
	n := up.Count(reStarted)
	e2etest.SetGreeting(t, dir, "hello v4")
	up.WaitLines(reStarted, n+1, time.Minute)
	e2etest.SetGreeting(t, dir, "hello v5")
	e2etest.WaitServes(t, url, "hello v5", 2*time.Minute)

	// 6. An ignored file triggers no build: touch README.md, then make a real edit; the
	// next build is the only one, and it does not list README.md.
	// (A build for step 5's last event may still start after v5 is served: the build
	// before it may have read v5 already. So every build started from here on must
	// name the edit, and none README.md.)
	okBefore := up.Count(reOK)
	from := len(up.Output())
	e2etest.WriteFile(t, filepath.Join(dir, "README.md"), "# notes\n")
	e2etest.SetGreeting(t, dir, "hello v6")
	e2etest.WaitServes(t, url, "hello v6", 2*time.Minute)
	up.WaitLines(reOK, okBefore+1, time.Minute)
	for _, l := range strings.Split(up.Output()[from:], "\n") {
		if reStarted.MatchString(l) && !strings.Contains(l, "internal/greeting/greeting.go") {
			t.Errorf("a build started after README.md + one edit without the edit: %s", l)
		}
	}
	if strings.Contains(up.Output(), "README.md") {
		t.Errorf("README.md (ignored) appeared in the output")
	}
	_ = started

	// 7. Ctrl-C: devloop exits cleanly, the server is gone, the port is free, no staging.
	lastPID, _ := strconv.Atoi(up.WaitLines(rePID, 1, time.Second)[1])
	if code := up.Stop(os.Interrupt, 30*time.Second); code != 0 {
		t.Errorf("devloop up exit code after SIGINT = %d, want 0", code)
	}
	if err := syscall.Kill(lastPID, 0); err == nil {
		t.Errorf("server pid %d still alive after devloop exited", lastPID)
	}
	if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Errorf("port %d still busy after devloop exited: %v", port, err)
	} else {
		l.Close()
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, ".devloop", "staging")); len(entries) != 0 {
		t.Errorf("staging dirs left behind: %v", entries)
	}

	// 8. Every event of the run has the documented shape, and the stream tells the story.
	data, err := os.ReadFile(eventsFile)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range e2etest.ValidateEvents(t, string(data)) {
		seen[e["type"].(string)]++
	}
	for _, typ := range []string{"change_detected", "build_started", "target_finished", "build_finished", "restarted", "process_started", "ready", "process_stopped"} {
		if seen[typ] == 0 {
			t.Errorf("event stream has no %s event (counts %v)", typ, seen)
		}
	}
	if seen["build_started"] != seen["build_finished"] {
		t.Errorf("build_started %d ≠ build_finished %d", seen["build_started"], seen["build_finished"])
	}
}
