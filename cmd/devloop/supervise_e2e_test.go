//go:build e2e && linux

package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

var (
	reReady     = regexp.MustCompile(`^server: ready \(pid (\d+)\)`)
	reExited    = regexp.MustCompile(`^server: exited \(pid (\d+)`)
	reProcEvent = regexp.MustCompile(`^server: (started|ready) \(pid (\d+)\)`)
	rePortInUse = regexp.MustCompile(`^server: port (\d+) \(ready: (\S+)\) is already in use by pid (\d+) \((.*)\)`)
)

// serverRunProject is the example with only the server target, run by command (a YAML
// flow sequence) and probed at ready.
func serverRunProject(t *testing.T, command, ready string) string {
	return e2etest.ExampleProject(t, fmt.Sprintf(`build_args: {APP_VERSION: supervise}
targets:
  server:
    stage: server
    output: .
    run:
      command: %s
      stop_timeout: 3s
      ready: %s
watch:
  debounce: 50ms
`, command, ready))
}

// serverPIDs returns the live processes running the example's bin/server on port.
func serverPIDs(t *testing.T, port int) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	addr := []byte(fmt.Sprintf("127.0.0.1:%d", port))
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte("bin/server\x00")) || !bytes.Contains(cmdline, addr) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && bytes.HasPrefix(stat[i+1:], []byte(" Z")) {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// killServers SIGKILLs what serverPIDs finds, so that a failing test leaks nothing.
func killServers(t *testing.T, port int) {
	for _, pid := range serverPIDs(t, port) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// checkReadyPIDs reports a "ready" line whose pid is not the one of the "started"
// line before it: ready must be said of the process devloop started last.
func checkReadyPIDs(t *testing.T, up *e2etest.Up) {
	t.Helper()
	last := ""
	for _, l := range strings.Split(up.Output(), "\n") {
		m := reProcEvent.FindStringSubmatch(l)
		switch {
		case m == nil:
		case m[1] == "started":
			last = m[2]
		case m[2] != last:
			t.Errorf("%q: ready for pid %s, but the process started last is %q", l, m[2], last)
		}
	}
}

// TestUpRestartKillsSetsidServer is issue 11's reproduction 3A: the run: command
// starts the server with setsid, so it leaves the process group devloop stops on a
// restart. After an edit the old server must be gone (not keep serving the old code
// while the new one crash-loops on "address already in use").
func TestUpRestartKillsSetsidServer(t *testing.T) {
	e2etest.RequireBuildKit(t)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := serverRunProject(t, fmt.Sprintf(`[sh, -c, "setsid bin/server --addr 127.0.0.1:%d & wait"]`, port), url)
	t.Cleanup(func() { killServers(t, port) }) // runs after devloop is killed
	up := startUp(t, dir)
	up.WaitLines(reReady, 1, 5*time.Minute)
	e2etest.WaitServes(t, url, "hello from greeter", time.Minute)
	old := serverPIDs(t, port)
	if len(old) != 1 {
		t.Fatalf("servers on port %d after the first start = %v, want one", port, old)
	}

	e2etest.SetGreeting(t, dir, "hello v2")
	e2etest.WaitServes(t, url, "hello v2", 90*time.Second)
	up.WaitLines(reReady, 2, time.Minute)
	if alive := serverPIDs(t, port); slices.Contains(alive, old[0]) || len(alive) != 1 {
		t.Errorf("servers after the restart = %v, want one new one (the old one was %d)", alive, old[0])
	}
	if n := up.Count(reExited); n > 0 {
		t.Errorf("the server exited on its own %d times, want never (no crash loop)", n)
	}
	checkReadyPIDs(t, up)

	up.Stop(os.Interrupt, 30*time.Second)
	if left := serverPIDs(t, port); len(left) > 0 {
		t.Errorf("servers alive after devloop up exited: %v", left)
	}
}

// TestUpPortHeldByAnotherProcess is issue 11's reproduction 3B: another process (this
// test) already listens on the ready URL's port when devloop up starts. The server
// cannot bind it and exits; devloop must name the holder and never say "ready" while
// the answers come from it. Once the holder lets the port go, the next crash-restart
// binds it and is reported ready.
func TestUpPortHeldByAnotherProcess(t *testing.T) {
	e2etest.RequireBuildKit(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	holder := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "not devloop's server")
	})}
	go func() { _ = holder.Serve(ln) }()
	t.Cleanup(func() { _ = holder.Close() })
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := serverRunProject(t, fmt.Sprintf(`[bin/server, --addr, "127.0.0.1:%d"]`, port), url)
	t.Cleanup(func() { killServers(t, port) })
	up := startUp(t, dir)
	up.WaitLines(reExited, 2, 5*time.Minute)
	if n := up.Count(reReady); n > 0 {
		t.Errorf("devloop said the server is ready %d times while another process held its port", n)
	}
	lines := strings.Split(up.Output(), "\n")
	i := slices.IndexFunc(lines, rePortInUse.MatchString)
	if i < 0 {
		t.Fatalf("no line says the port is in use")
	}
	m := rePortInUse.FindStringSubmatch(lines[i])
	if m[1] != strconv.Itoa(port) || m[2] != url || m[3] != strconv.Itoa(os.Getpid()) || !strings.Contains(m[4], filepath.Base(os.Args[0])) {
		t.Errorf("%q: want port %d, ready %s, the holder's pid %d and command (%s)", lines[i], port, url, os.Getpid(), os.Args[0])
	}
	if j := slices.IndexFunc(lines, rePID.MatchString); j < i {
		t.Errorf("the port-in-use line (%d) comes after the first start (%d), want before", i, j)
	}
	if n := up.Count(rePortInUse); n != 1 {
		t.Errorf("the port-in-use line was printed %d times, want once for the same holder", n)
	}

	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	up.WaitLines(reReady, 1, time.Minute)
	e2etest.WaitServes(t, url, "hello from greeter", time.Minute)
	checkReadyPIDs(t, up)
}
