//go:build e2e && unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

var reCancelled = regexp.MustCompile(`^\[devloop\] build cancelled #(\d+)`)

// serverProject copies the example with only its server target, run on a free port
// with the default watch settings, and returns the project and the server's URL.
func serverProject(t *testing.T) (dir, url string) {
	t.Helper()
	port := e2etest.FreePort(t)
	url = fmt.Sprintf("http://127.0.0.1:%d/", port)
	return e2etest.ExampleProject(t, fmt.Sprintf(`
targets:
  server:
    stage: server
    output: .
    run:
      command: [bin/server, --addr, "127.0.0.1:%d"]
      stop_timeout: 2s
      ready: %s
`, port, url)), url
}

// TestUpStreamProgress: a source file the server compiles rewritten every 10 ms (a
// generator in a loop) while builds take ~2.5 s, under the default on_busy: restart. An edit saved during
// the stream is served while the stream still runs: the stream may cancel builds only
// until their oldest change waited the cancel window, then a build finishes.
func TestUpStreamProgress(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir, url := serverProject(t)
	// Builds of ~2.5 s: the server's compile step sleeps 2 s more, and every write of
	// the stream reruns it (the stream's file is in a package the server imports).
	replaceInFile(t, filepath.Join(dir, "Dockerfile"), "-o /bin/server ./cmd/server", "-o /bin/server ./cmd/server && sleep 2")
	up := startUp(t, dir)
	up.WaitLines(reOK, 1, 5*time.Minute)
	e2etest.WaitServes(t, url, "hello from greeter", time.Minute)

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	var writes atomic.Int64
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := os.WriteFile(filepath.Join(dir, "internal", "greeting", "stream.go"), fmt.Appendf(nil, "package greeting\n\n// line %d\n", n), 0o644); err != nil {
				t.Error(err)
				return
			}
			writes.Add(1)
		}
	})
	// The stream is building: at least one build was started for it.
	up.WaitLines(reStarted, up.Count(reStarted)+1, time.Minute)

	started, cancelled := up.Count(reStarted), up.Count(reCancelled)
	w0, t0 := writes.Load(), time.Now()
	e2etest.SetGreeting(t, dir, "hello during a stream")
	e2etest.WaitServes(t, url, "hello during a stream", time.Minute)
	latency := time.Since(t0)
	if n := writes.Load() - w0; n < int64(latency/(20*time.Millisecond)) {
		t.Errorf("the stream wrote %d times in the %v until the edit was served, want it still running (≥ one write per 20 ms)", n, latency)
	}
	t.Logf("edit served %v after the save, while the stream ran (%d builds started, %d cancelled meanwhile)",
		latency.Round(time.Millisecond), up.Count(reStarted)-started, up.Count(reCancelled)-cancelled)
}
