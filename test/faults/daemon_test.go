//go:build e2e && linux

package faults

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// serverYAML is a devloop.yaml for the Go example that runs bin/server on port, with
// extra lines (indented) under run:.
func serverYAML(port int, runExtra ...string) string {
	return fmt.Sprintf(`build_args: {APP_VERSION: faults}
targets:
  server:
    stage: server
    output: .
    run:
      command: [bin/server, --addr, "127.0.0.1:%d"]
      stop_timeout: 2s
      ready: http://127.0.0.1:%d/
%swatch:
  debounce: 50ms
`, port, port, strings.Join(runExtra, ""))
}

// servingPID returns the pid of the server process started last.
func servingPID(t *testing.T, up *e2etest.Up) int {
	t.Helper()
	ms, _ := up.Matches(reProcStarted, 0)
	if len(ms) == 0 {
		t.Fatal("no server process was started")
	}
	pid, _ := strconv.Atoi(ms[len(ms)-1][1])
	return pid
}

// TestDaemonLoss kills the BuildKit daemon (SIGKILL) while `devloop up` runs, once
// idle and once mid-build, alternately (fault 2). devloop must say that the builder
// is unavailable and retry, keep the server running (same pid, still serving), not
// exit, and build and serve the next change once the daemon is back.
func TestDaemonLoss(t *testing.T) {
	tb := privateTestbed(t)
	tb.restoreAfter(t)
	kills := scaled(t, 2, 10)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := e2etest.ExampleProject(t, serverYAML(port))
	up := startUp(t, dir, tb.env())
	up.WaitFirstBuild(10 * time.Minute) // the private daemon's cache starts cold
	served := "hello from greeter"
	e2etest.WaitServes(t, url, served, time.Minute)

	for i := range kills {
		kind := "idle"
		pid := servingPID(t, up)
		from := up.Len()
		if i%2 == 1 {
			kind = "mid-build"
			e2etest.SetGreeting(t, dir, fmt.Sprintf("lost during build %d", i))
			up.WaitLine(reStarted, from, time.Minute)
			tb.kill(t, "buildkitd", syscall.SIGKILL)
		} else {
			tb.kill(t, "buildkitd", syscall.SIGKILL)
			e2etest.SetGreeting(t, dir, fmt.Sprintf("lost while idle %d", i))
		}
		_, m, err := up.AwaitLine(reUnavailable, from, 30*time.Second)
		if err != nil {
			// A build failure that is not recognised as a lost daemon is not retried:
			// the change is never built, even once the daemon is back.
			t.Fatalf("kill %d (%s): %v; devloop printed instead:\n%s", i, kind, err, firstLines(strings.Join(up.Since(from), "\n"), 8))
		}
		t.Logf("kill %d (%s): devloop says the builder is unavailable, retrying in %ss", i, kind, m[1])

		if got, err := e2etest.Get(url); err != nil || got != served {
			t.Errorf("kill %d (%s): with the daemon gone GET / = %q (err %v), want the old %q", i, kind, got, err, served)
		}
		if got := servingPID(t, up); got != pid {
			t.Errorf("kill %d (%s): server pid = %d with the daemon gone, want still %d", i, kind, got, pid)
		}
		if st, err := procState(pid); err != nil || st == 'Z' {
			t.Errorf("kill %d (%s): server pid %d is gone (state %q, err %v)", i, kind, pid, st, err)
		}
		if !up.Alive() {
			t.Fatalf("kill %d (%s): devloop up exited with the daemon gone", i, kind)
		}

		t0 := time.Now()
		tb.up(t)
		back := time.Since(t0)
		served = fmt.Sprintf("daemon back %d", i)
		e2etest.SetGreeting(t, dir, served)
		e2etest.WaitServes(t, url, served, 2*time.Minute)
		t.Logf("kill %d (%s): daemon restarted in %s; the next change was served %s after the restart",
			i, kind, back.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond)-back.Round(time.Millisecond))
	}
	if out := strings.Join(up.Since(0), "\n"); regexp.MustCompile(`(?m)^(panic:|fatal error:)`).MatchString(out) {
		t.Errorf("devloop up panicked:\n%s", out)
	}
	if code := up.Stop(syscall.SIGINT, time.Minute); code != 0 {
		t.Errorf("devloop up exit code after SIGINT = %d, want 0", code)
	}
}
