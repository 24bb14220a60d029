//go:build e2e && linux

package faults

import (
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

const crashSource = `package main

import "os"

// crashOnStart makes the server exit as soon as it starts.
const crashOnStart = %t

func init() {
	if crashOnStart {
		os.Stderr.WriteString("server: crashing on start\n")
		os.Exit(3)
	}
}
`

// TestCrashLoop runs a server that exits at once (fault 6): over a window (10s, full
// 30s) its restarts must follow the supervisor's backoff (250ms doubling to 10s),
// devloop's own CPU time must stay under 5% of the window, and an edit that stops the
// crash must still be built, restarted and served.
func TestCrashLoop(t *testing.T) {
	e2etest.RequireBuildKit(t)
	window := scaledDuration(t, 10*time.Second, 30*time.Second)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := e2etest.ExampleProject(t, serverYAML(port))
	crash := filepath.Join(dir, "cmd", "server", "crash.go")
	e2etest.WriteFile(t, crash, fmt.Sprintf(crashSource, true))
	up := startUp(t, dir, nil)

	first, _ := up.WaitLine(reProcStarted, 0, 5*time.Minute)
	_, at := up.Matches(reProcStarted, first)
	t0 := at[0]
	cpu0 := cpuTime(t, up.PID())
	time.Sleep(time.Until(t0.Add(window))) // the window is what is measured
	cpu := cpuTime(t, up.PID()) - cpu0

	_, starts := up.Matches(reProcStarted, first)
	n := 0
	for _, s := range starts {
		if s.Sub(t0) < window {
			n++
		}
	}
	// The supervisor's schedule: a start at 0, then after 250ms, 500ms, 1s, … 10s.
	var want []float64
	expected, next, delay := 0, time.Duration(0), 250*time.Millisecond
	for next < window {
		expected++
		want = append(want, delay.Seconds())
		next += delay
		delay = min(2*delay, 10*time.Second)
	}
	if n < expected-1 || n > expected+1 {
		t.Errorf("server started %d times in %s, want %d±1 (backoff 250ms doubling to 10s)", n, window, expected)
	}
	delays, _ := up.Matches(reRestarting, first)
	for i, m := range delays[:min(len(delays), len(want))] {
		got, _ := strconv.ParseFloat(m[1], 64)
		if got != want[i] {
			t.Errorf("restart %d waited %.2fs, want %.2fs", i+1, got, want[i])
		}
	}
	if limit := window / 20; cpu > limit {
		t.Errorf("devloop used %s of CPU during the %s crash loop, want under %s (5%%)", cpu, window, limit)
	}
	t.Logf("%d starts in %s (schedule: %d); devloop CPU %s (%.1f%% of the window)",
		n, window, expected, cpu, 100*cpu.Seconds()/window.Seconds())

	e2etest.WriteFile(t, crash, fmt.Sprintf(crashSource, false))
	e2etest.WaitServes(t, url, "hello from greeter", 2*time.Minute)
	if code := up.Stop(syscall.SIGINT, time.Minute); code != 0 {
		t.Errorf("devloop up exit code after SIGINT = %d, want 0", code)
	}
}
