//go:build e2e && linux

package faults

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// TestNoOrphans stops `devloop up` with SIGINT or SIGTERM while it builds, exports,
// restarts or serves (fault 5). Its run: command is a shell that starts the server in
// the background and waits, so the supervised process has a child of its own.
// Afterwards devloop must have exited 0, no process of the project may be left (by
// working directory, executable or command line), the port must be free and no
// staging dir may remain.
func TestNoOrphans(t *testing.T) {
	e2etest.RequireBuildKit(t)
	runs := scaled(t, 8, 50)
	rng := newRand(t)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := shellWrappedServer(t, port, url)
	phases := []string{"building", "exporting", "restarting", "serving"}
	signals := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	midBuild := 0
	for i := range runs {
		phase := phases[i%len(phases)]
		sig := signals[(i/len(phases)+i)%len(signals)]
		up := startUp(t, dir, nil)
		switch phase {
		case "building":
			from, _ := up.WaitLine(reProcReady, 0, 5*time.Minute)
			e2etest.SetGreeting(t, dir, fmt.Sprintf("building %d", i))
			up.WaitLine(reStarted, from, 2*time.Minute)
			time.Sleep(time.Duration(rng.Int64N(int64(400 * time.Millisecond))))
		case "exporting":
			up.WaitLine(reProcReady, 0, 5*time.Minute)
			w := watchStaging(t, dir, func(rel string) bool {
				_, after, ok := strings.Cut(rel, "/out/")
				return ok && after != ""
			})
			e2etest.SetGreeting(t, dir, fmt.Sprintf("exporting %d", i))
			select {
			case <-w.fired:
			case <-time.After(2 * time.Minute):
				t.Fatalf("run %d: no export started within 2m of an edit", i)
			}
			w.close()
		case "restarting":
			from, _ := up.WaitLine(reProcReady, 0, 5*time.Minute)
			e2etest.SetGreeting(t, dir, fmt.Sprintf("restarting %d", i))
			up.WaitLine(reProcStopped, from, 2*time.Minute)
		case "serving":
			up.WaitLine(reProcReady, 0, 5*time.Minute)
			if _, err := e2etest.Get(url); err != nil {
				t.Fatalf("run %d: server ready but GET / fails: %v", i, err)
			}
			// The scan below must see what it is meant to catch: sh, its server child
			// and sleep, plus devloop itself (by working directory).
			if procs := processesUnder(dir); len(procs) < 4 {
				t.Fatalf("run %d: processes of the project while serving = %v, want devloop, sh, server and sleep", i, procs)
			}
		}
		if up.Count(reStarted) > up.Count(reFinished) {
			midBuild++
		}
		if code := up.Stop(sig, time.Minute); code != 0 {
			t.Errorf("run %d (%s, %s): devloop up exit code %d, want 0", i, phase, sig, code)
		}
		// Stopping is not a failure (issue 16 §8: "restart failed: context canceled"
		// on Ctrl-C during a restart).
		if n := up.Count(reStopNoise); n > 0 {
			t.Errorf("run %d (%s, %s): %d lines of a failure caused by the stop itself:\n%s", i, phase, sig, n, up.Tail(30))
		}
		if left := processesUnder(dir); len(left) > 0 {
			t.Errorf("run %d (%s, %s): processes left behind:\n%v", i, phase, sig, left)
			for _, p := range left {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
		}
		if !portFree(port) {
			t.Errorf("run %d (%s, %s): port %d still in use after devloop exited", i, phase, sig, port)
		}
		if left := stagingLeft(t, dir); len(left) > 0 {
			t.Errorf("run %d (%s, %s): staging dirs left: %v", i, phase, sig, left)
		}
	}
	t.Logf("%d runs stopped (%d while a build was running): no process, port or staging dir left", runs, midBuild)
}

// reStopNoise is what stopping devloop up must not print: it is no failure.
var reStopNoise = regexp.MustCompile(`restart failed|context canceled|supervisor is (shutting down|not running)`)

var reLeftover = regexp.MustCompile(`^server: killed pid (\d+), left running by an earlier devloop up`)

// TestOrphansAfterSIGKILL: `devloop up` killed with SIGKILL cannot stop anything, and
// its run: process's children survive it (Pdeathsig reaches only the direct child).
// The next `devloop up` of the project kills them before it starts the server, so it
// can bind the port again, and says so; nothing of the first run is left.
func TestOrphansAfterSIGKILL(t *testing.T) {
	e2etest.RequireBuildKit(t)
	runs := scaled(t, 2, 10)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := shellWrappedServer(t, port, url)
	for i := range runs {
		first := startUp(t, dir, nil)
		first.WaitLine(reProcReady, 0, 5*time.Minute)
		survivors := processesUnder(dir)
		first.Stop(syscall.SIGKILL, time.Minute)
		waitGone(t, first.PID(), time.Minute)
		// The precondition the fix is for: the server outlived the SIGKILLed devloop.
		if _, err := e2etest.Get(url); err != nil {
			t.Fatalf("run %d: after kill -9 of devloop the server no longer answers (%v): nothing to clean up", i, err)
		}

		second := startUp(t, dir, nil)
		second.WaitLine(reProcReady, 0, 5*time.Minute)
		killed, _ := second.Matches(reLeftover, 0)
		if len(killed) < 2 { // the server and sleep; sh died with devloop
			t.Errorf("run %d: the second devloop up killed %d leftovers, want the server and sleep:\n%s", i, len(killed), second.Tail(30))
		}
		if _, err := e2etest.Get(url); err != nil {
			t.Errorf("run %d: the second devloop up's server does not answer: %v", i, err)
		}
		for _, p := range survivors {
			if p.pid == first.PID() {
				continue
			}
			if st, err := procState(p.pid); err == nil && st != 'Z' {
				t.Errorf("run %d: process of the killed devloop still alive: %v", i, p)
			}
		}
		if code := second.Stop(syscall.SIGINT, time.Minute); code != 0 {
			t.Errorf("run %d: second devloop up exit code %d, want 0", i, code)
		}
		if left := processesUnder(dir); len(left) > 0 {
			t.Errorf("run %d: processes left after a clean stop:\n%v", i, left)
			for _, p := range left {
				_ = syscall.Kill(p.pid, syscall.SIGKILL)
			}
		}
	}
}

// shellWrappedServer is the example whose run: command is a shell that starts the
// server in the background and waits, so the supervised process has children.
func shellWrappedServer(t *testing.T, port int, url string) string {
	return e2etest.ExampleProject(t, fmt.Sprintf(`build_args: {APP_VERSION: faults}
targets:
  server:
    stage: server
    output: .
    run:
      command: [sh, -c, "bin/server --addr 127.0.0.1:%d & sleep 1000; wait"]
      stop_timeout: 3s
      ready: %s
watch:
  debounce: 50ms
`, port, url))
}
