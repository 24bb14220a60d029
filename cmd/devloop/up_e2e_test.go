//go:build unix

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// upProcess is a running `devloop up` whose output the test reads line by line.
type upProcess struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	grow  chan struct{} // signalled on every new line
	done  chan struct{} // closed when the output ends
}

func startUp(t *testing.T, dir string, args ...string) *upProcess {
	t.Helper()
	cmd := exec.Command(devloopBin, append([]string{"up"}, args...)...)
	cmd.Dir = dir
	return startUpCmd(t, cmd)
}

// startUpCmd starts cmd, a `devloop up` or a command running one, reading its output.
func startUpCmd(t *testing.T, cmd *exec.Cmd) *upProcess {
	t.Helper()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &upProcess{t: t, cmd: cmd, grow: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.grow <- struct{}{}:
			default:
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("devloop up output:\n%s", p.output())
		}
	})
	return p
}

func (p *upProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

func (p *upProcess) count(re *regexp.Regexp) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if re.MatchString(l) {
			n++
		}
	}
	return n
}

// waitLines waits until at least n lines match re and returns the last match.
func (p *upProcess) waitLines(re *regexp.Regexp, n int, timeout time.Duration) []string {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		var match []string
		seen := 0
		for _, l := range p.lines {
			if m := re.FindStringSubmatch(l); m != nil {
				seen++
				match = m
			}
		}
		p.mu.Unlock()
		if seen >= n {
			return match
		}
		select {
		case <-p.grow:
		case <-p.done:
			p.t.Fatalf("devloop up ended before %d lines matched %q", n, re)
		case <-deadline.C:
			p.t.Fatalf("timed out after %s waiting for %d lines matching %q", timeout, n, re)
		}
	}
}

var (
	reStarted = regexp.MustCompile(`^\[devloop\] build started #(\d+)`)
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
	up.waitLines(reOK, 1, 5*time.Minute)
	e2etest.WaitServes(t, url, "hello from greeter", time.Minute)
	pid1 := up.waitLines(rePID, 1, time.Minute)[1]

	// 2. An edit is served after the rebuild, by a new process.
	e2etest.SetGreeting(t, dir, "hello v2")
	e2etest.WaitServes(t, url, "hello v2", 2*time.Minute)
	pid2 := up.waitLines(rePID, 2, time.Minute)[1]
	if pid2 == pid1 {
		t.Errorf("server pid after the edit = %s, want a new process (was %s)", pid2, pid1)
	}

	// 3. A compile error: the old server keeps serving, the error is shown.
	started := up.count(reStarted)
	handler := filepath.Join(dir, "cmd", "server", "handler.go")
	replaceInFile(t, handler, "return mux", "return mux +")
	up.waitLines(reFailed, 1, 2*time.Minute)
	if out := up.output(); !strings.Contains(out, "handler.go:") || !strings.Contains(out, "syntax error") {
		t.Errorf("output lacks the compiler error")
	}
	if got, err := e2etest.Get(url); err != nil || got != "hello v2" {
		t.Errorf("after a failed build GET / = %q (err %v), want the old %q", got, err, "hello v2")
	}
	if n := up.count(rePID); n != 2 {
		t.Errorf("server was started %d times after the failed build, want still 2", n)
	}

	// 4. Fixing it serves the next edit.
	replaceInFile(t, handler, "return mux +", "return mux")
	e2etest.SetGreeting(t, dir, "hello v3")
	e2etest.WaitServes(t, url, "hello v3", 2*time.Minute)

	// 5. Two edits while one build runs: the final server serves the second.
	n := up.count(reStarted)
	e2etest.SetGreeting(t, dir, "hello v4")
	up.waitLines(reStarted, n+1, time.Minute)
	e2etest.SetGreeting(t, dir, "hello v5")
	e2etest.WaitServes(t, url, "hello v5", 2*time.Minute)

	// 6. An ignored file triggers no build: touch README.md, then make a real edit; the
	// next build is the only one, and it does not list README.md.
	okBefore := up.count(reOK)
	n = up.count(reStarted)
	e2etest.WriteFile(t, filepath.Join(dir, "README.md"), "# notes\n")
	e2etest.SetGreeting(t, dir, "hello v6")
	e2etest.WaitServes(t, url, "hello v6", 2*time.Minute)
	up.waitLines(reOK, okBefore+1, time.Minute)
	if got := up.count(reStarted); got != n+1 {
		t.Errorf("builds started after README.md + one edit = %d, want %d", got-n, 1)
	}
	if strings.Contains(up.output(), "README.md") {
		t.Errorf("README.md (ignored) appeared in the output")
	}
	_ = started

	// 7. Ctrl-C: devloop exits cleanly, the server is gone, the port is free, no staging.
	lastPID, _ := strconv.Atoi(up.waitLines(rePID, 1, time.Second)[1])
	if err := up.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-up.done:
	case <-time.After(30 * time.Second):
		t.Fatal("devloop up did not exit within 30s of SIGINT")
	}
	if code := up.cmd.ProcessState.ExitCode(); code != 0 {
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
	for _, e := range validateEvents(t, string(data)) {
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
