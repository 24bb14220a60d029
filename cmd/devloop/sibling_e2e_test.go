//go:build e2e && unix

package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// TestUpSiblingExecutable: a target exporting the guide's binaries stage (client and
// server) runs the server. An edit only the client compiles swaps bin/client and
// leaves the server running (its binary did not change); an edit the server compiles
// restarts it.
func TestUpSiblingExecutable(t *testing.T) {
	e2etest.RequireBuildKit(t)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := e2etest.ExampleProject(t, fmt.Sprintf(`
targets:
  binaries:
    stage: binaries
    output: bin
    run:
      command: [bin/server, --addr, "127.0.0.1:%d"]
      stop_timeout: 2s
      ready: %s
`, port, url))
	up := startUp(t, dir)
	up.WaitLines(reOK, 1, 5*time.Minute)
	e2etest.WaitServes(t, url, "hello from greeter", time.Minute)
	reStartedPID := regexp.MustCompile(`^binaries: started \(pid (\d+)\)`)
	reUpdated := regexp.MustCompile(`^binaries: rebuilt .* updated bin/client$`)
	if n := up.Count(reStartedPID); n != 1 {
		t.Fatalf("server started %d times by the first build, want 1", n)
	}

	// The client only: bin/client updated, the server keeps running.
	replaceInFile(t, filepath.Join(dir, "cmd", "client", "main.go"), `fmt.Println("client", version)`, `fmt.Println("client (edited)", version)`)
	up.WaitLines(reUpdated, 1, 2*time.Minute)
	up.WaitLines(reOK, 2, time.Minute)
	if n := up.Count(reStartedPID); n != 1 {
		t.Errorf("a client-only change started the server again (%d starts, want 1):\n%s", n, up.Output())
	}
	if strings.Contains(up.Output(), "binaries: stopped") {
		t.Errorf("a client-only change stopped the server:\n%s", up.Output())
	}
	e2etest.WaitServes(t, url, "hello from greeter", time.Minute)

	// The server: restarted, serving the edit.
	e2etest.SetGreeting(t, dir, "hello after the sibling")
	e2etest.WaitServes(t, url, "hello after the sibling", 2*time.Minute)
	if n := up.Count(reStartedPID); n != 2 {
		t.Errorf("server started %d times after a server edit, want 2", n)
	}
}
