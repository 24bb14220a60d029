//go:build e2e && linux

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// The tests in this file run devloop against the other kinds of builder users have: the
// Docker Engine's built-in BuildKit (docker://; the testbed's is Debian's docker.io,
// Docker 20.10 with BuildKit v0.8) and a BuildKit container in that engine
// (docker-container://, named like a buildx builder's). hack/testbed/docker.sh starts
// both; the tests fail, never skip, without them. The engine's RUN steps have no route
// off the machine, so its builds use the example with vendored modules.

// What devloop says about an old builder (README "Builders").
var (
	reNoPinning  = regexp.MustCompile(`^\[devloop\] base images are resolved from the registry on every build on this builder \(docker://unix://[^)]*\): BuildKit older than v0\.11 .*source policies.*$`)
	rePinnedLine = regexp.MustCompile(`^\[devloop\] pinned `)
	reFallback   = regexp.MustCompile(`^\[devloop\] # syntax=docker/dockerfile:1: running the frontend image on every build: this builder's built-in Dockerfile frontend .*older than v0\.11`)
	reSedTemp    = regexp.MustCompile(`\bsed[A-Za-z0-9]{6}\b`)
)

// twoTargetsYAML builds the example's server and client into ./bin.
const twoTargetsYAML = `targets:
  server:
    stage: server
    output: .
  client:
    stage: client
    output: .
`

// offlineServerProject is the offline example running its server on a free port,
// and the server's URL.
func offlineServerProject(t *testing.T) (dir, url string) {
	t.Helper()
	port := e2etest.FreePort(t)
	url = fmt.Sprintf("http://127.0.0.1:%d/", port)
	return e2etest.OfflineExampleProject(t, fmt.Sprintf(`targets:
  server:
    stage: server
    output: .
    run:
      command: [bin/server, --addr, "127.0.0.1:%d"]
      stop_timeout: 2s
      ready: %s
watch:
  debounce: 50ms
`, port, url)), url
}

// runDevloopEnv runs the devloop binary in dir with env added and waits for it.
func runDevloopEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return e2etest.Run(t, dir, env, devloopBin, args...)
}

// checkBinaries runs the built binaries (bin/NAME) with --version.
func checkBinaries(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, b := range names {
		out, err := exec.Command(filepath.Join(dir, "bin", b), "--version").CombinedOutput()
		if err != nil {
			t.Errorf("bin/%s --version: %v\n%s", b, err, out)
		}
	}
}

// TestDockerEngineBuild: `devloop build --addr docker://` builds two targets with the
// engine's BuildKit v0.8, and the progress display keeps both targets' steps (v0.8's
// "exporting to client" has the same digest in both solves).
func TestDockerEngineBuild(t *testing.T) {
	env := e2etest.RequireDockerEngine(t)
	dir := e2etest.OfflineExampleProject(t, twoTargetsYAML)
	r := runDevloopEnv(t, dir, env, "build", "--addr", "docker://", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("devloop build --addr docker:// = exit %d, want 0\n%v", r.Code, r)
	}
	checkBinaries(t, dir, "server", "client")
	for _, target := range []string{"server", "client"} {
		re := regexp.MustCompile(`(?m)^#(\d+) \[` + target + `\] exporting to client`)
		if !re.MatchString(r.Stderr) {
			t.Errorf("the progress lacks %s's export step:\n%s", target, r.Stderr)
		}
	}
	ids := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^(#\d+) \[\w+\] exporting to client`).FindAllStringSubmatch(r.Stderr, -1) {
		ids[m[1]] = true
	}
	if len(ids) != 2 {
		t.Errorf("the two targets' export steps have %d step numbers (%v), want 2: they collided", len(ids), ids)
	}
}

// TestDockerEngineVersion: the engine answers but has no Info call (BuildKit older
// than v0.11); `devloop version` says so and exits 0, instead of "cannot reach".
func TestDockerEngineVersion(t *testing.T) {
	env := e2etest.RequireDockerEngine(t)
	r := runDevloopEnv(t, t.TempDir(), env, "version", "--addr", "docker://")
	if r.Code != 0 {
		t.Fatalf("devloop version --addr docker:// = exit %d, want 0\n%v", r.Code, r)
	}
	want := "buildkit daemon older than v0.11 (docker://" + strings.TrimPrefix(env[0], "DOCKER_HOST=") + ")"
	if !strings.Contains(r.Stdout, want) {
		t.Errorf("devloop version output lacks %q:\n%v", want, r)
	}
	if strings.Contains(r.Stdout+r.Stderr, "unreachable") || strings.Contains(r.Stdout+r.Stderr, "Unimplemented") {
		t.Errorf("devloop version calls the engine unreachable or shows gRPC's error:\n%v", r)
	}
}

// TestDockerEngineCacheExporter: cache.to type=registry on the engine fails with the
// daemon's words intact (closing quote included), the kind of builder and what to use
// instead.
func TestDockerEngineCacheExporter(t *testing.T) {
	env := e2etest.RequireDockerEngine(t)
	dir := e2etest.OfflineExampleProject(t, `targets:
  server:
    stage: server
    output: .
    cache:
      to: ["type=registry,ref=127.0.0.1:1/devloop/cache:server"]
`)
	r := runDevloopEnv(t, dir, env, "build", "--addr", "docker://", "--progress", "quiet")
	if r.Code != 1 {
		t.Fatalf("devloop build with cache.to type=registry on the engine = exit %d, want 1\n%v", r.Code, r)
	}
	for _, want := range []string{`unknown cache exporter: "registry"`, "the Docker Engine's built-in BuildKit", "type=inline", "docker-container://"} {
		if !strings.Contains(r.Stdout+r.Stderr, want) {
			t.Errorf("output lacks %q:\n%v", want, r)
		}
	}
}

// TestDockerEngineUp: `devloop up --addr docker://` serves an edit (made with `sed -i`,
// whose temp file must not show up as a change), keeps the old server on a compile
// error, and serves the fix. It says once that this builder resolves base images on
// every build, and pins nothing, and once that the `# syntax` frontend runs as an
// image (the engine's built-in frontend is too old to stand in for it).
func TestDockerEngineUp(t *testing.T) {
	env := e2etest.RequireDockerEngine(t)
	dir, url := offlineServerProject(t)
	up := e2etest.StartUp(t, devloopBin, dir, env, "--addr", "docker://")
	up.WaitLines(reOK, 1, 10*time.Minute)
	e2etest.WaitServes(t, url, "hello from greeter", time.Minute)
	pid1 := up.WaitLines(rePID, 1, time.Minute)[1]

	// An edit with sed -i (its temp file sedXXXXXX is created and renamed away).
	from := up.Len()
	greeting := filepath.Join(dir, "internal", "greeting", "greeting.go")
	if out, err := exec.Command("sed", "-i", "s/hello from greeter/hello from sed/", greeting).CombinedOutput(); err != nil {
		t.Fatalf("sed -i: %v\n%s", err, out)
	}
	e2etest.WaitServes(t, url, "hello from sed", 3*time.Minute)
	if pid2 := up.WaitLines(rePID, 2, time.Minute)[1]; pid2 == pid1 {
		t.Errorf("server pid after the edit = %s, want a new process", pid2)
	}
	for _, l := range up.Since(from) {
		if reSedTemp.MatchString(l) {
			t.Errorf("sed -i's temp file shows up in the output: %q", l)
		}
	}

	// A compile error: the build fails with the compiler's words, the old server stays.
	handler := filepath.Join(dir, "cmd", "server", "handler.go")
	replaceInFile(t, handler, "return mux", "return mux +")
	up.WaitLines(reFailed, 1, 3*time.Minute)
	if out := up.Output(); !strings.Contains(out, "handler.go:") {
		t.Errorf("output lacks the compiler error's file")
	}
	if got, err := e2etest.Get(url); err != nil || got != "hello from sed" {
		t.Errorf("after a failed build GET / = %q (err %v), want the old %q", got, err, "hello from sed")
	}
	if n := up.Count(rePID); n != 2 {
		t.Errorf("server was started %d times after the failed build, want still 2", n)
	}

	// The fix is served.
	replaceInFile(t, handler, "return mux +", "return mux")
	e2etest.SetGreeting(t, dir, "hello after the fix")
	e2etest.WaitServes(t, url, "hello after the fix", 3*time.Minute)

	if code := up.Stop(os.Interrupt, time.Minute); code != 0 {
		t.Errorf("devloop up exit code after SIGINT = %d, want 0", code)
	}
	if n := up.Count(reNoPinning); n != 1 {
		t.Errorf("the line saying base images are resolved on every build appeared %d times, want once", n)
	}
	if n := up.Count(rePinnedLine); n != 0 {
		t.Errorf("devloop said it pinned images %d times on a builder that ignores pins", n)
	}
	if n := up.Count(reFallback); n != 1 {
		t.Errorf("the frontend fallback was said %d times, want once", n)
	}
}

// TestDockerEngineRegistryOutage: the registry goes away after the first build. On
// the engine's BuildKit v0.8, which ignores source policies, the next rebuild needs the
// registry and fails; devloop said so up front (no "pinned" line), the failure names the
// registry, and the old server keeps serving. The test logs what the user is told.
func TestDockerEngineRegistryOutage(t *testing.T) {
	env := e2etest.RequireDockerEngine(t)
	reg := privateRegistry(t)
	dir, url := offlineServerProject(t)
	// Every image the build resolves comes from the private registry.
	df := filepath.Join(dir, "Dockerfile")
	data, err := os.ReadFile(df)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "# syntax=docker/dockerfile:1", "# syntax="+reg.addr+"/docker/dockerfile:1", 1)
	text = strings.Replace(text, "FROM golang:", "FROM "+reg.addr+"/library/golang:", 1)
	e2etest.WriteFile(t, df, text)

	up := e2etest.StartUp(t, devloopBin, dir, env, "--addr", "docker://")
	up.WaitLines(reOK, 1, 10*time.Minute)
	e2etest.WaitServes(t, url, "hello from greeter", time.Minute)
	notice := up.WaitLines(reNoPinning, 1, time.Second)[0]
	t.Logf("devloop said: %s", notice)

	reg.stop(t)
	from := up.Len()
	e2etest.SetGreeting(t, dir, "hello without the registry")
	_, m := up.WaitLine(reOKOrFailed, from, 3*time.Minute)
	lines := strings.Join(up.Since(from), "\n")
	if m[1] != "failed" {
		t.Fatalf("the rebuild with the registry down = %s, want failed (BuildKit v0.8 resolves the base images on every build):\n%s", m[1], lines)
	}
	if !strings.Contains(lines, reg.addr) {
		t.Errorf("the failure does not name the registry %s:\n%s", reg.addr, lines)
	}
	t.Logf("the rebuild with the registry down failed; devloop said:\n%s", lines)
	if got, err := e2etest.Get(url); err != nil || got != "hello from greeter" {
		t.Errorf("after the failed rebuild GET / = %q (err %v), want the old %q", got, err, "hello from greeter")
	}
	if n := up.Count(rePinnedLine); n != 0 {
		t.Errorf("devloop said it pinned images %d times on a builder that ignores pins", n)
	}
	if code := up.Stop(os.Interrupt, time.Minute); code != 0 {
		t.Errorf("devloop up exit code after SIGINT = %d, want 0", code)
	}
}

var reOKOrFailed = regexp.MustCompile(`^\[devloop\] build (ok|failed) #(\d+)`)

// TestBuildKitContainerBuild: `devloop build --addr docker-container://NAME` builds
// through `docker exec NAME buildctl dial-stdio` (the docker CLI on PATH, talking to
// the testbed's engine) and reports the container's BuildKit version. One target: a
// cold build in a fresh container compiles the standard library.
func TestBuildKitContainerBuild(t *testing.T) {
	env, name := e2etest.RequireBuildKitContainer(t)
	addr := "docker-container://" + name
	dir := e2etest.OfflineExampleProject(t, "targets:\n  server:\n    stage: server\n    output: .\n")
	r := runDevloopEnv(t, dir, env, "build", "--addr", addr, "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("devloop build --addr %s = exit %d, want 0\n%v", addr, r.Code, r)
	}
	checkBinaries(t, dir, "server")
	v := runDevloopEnv(t, dir, env, "version", "--addr", addr)
	if want := "buildkit daemon v"; v.Code != 0 || !strings.Contains(v.Stdout, want) || !strings.Contains(v.Stdout, addr) {
		t.Errorf("devloop version --addr %s = exit %d, want 0 and %q with the address:\n%v", addr, v.Code, want, v)
	}
}

// registry is a loopback registry of the test's own, holding copies of the testbed's
// golang:1.26-alpine and docker/dockerfile:1, that the test can stop.
type registry struct {
	addr string
	cmd  *exec.Cmd
}

func privateRegistry(t *testing.T) *registry {
	t.Helper()
	shared := os.Getenv("DEVLOOP_TESTBED_REGISTRY")
	if shared == "" {
		t.Fatal("DEVLOOP_TESTBED_REGISTRY is not set: run `make test`, or `eval \"$(bash hack/testbed/up.sh --env)\"` first")
	}
	r := &registry{addr: fmt.Sprintf("127.0.0.1:%d", e2etest.FreePort(t))}
	r.cmd = exec.Command("crane", "registry", "serve", "--address", r.addr)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start crane registry serve (crane comes with the testbed): %v", err)
	}
	t.Cleanup(func() { r.stop(t) })
	e2etest.Eventually(t, 30*time.Second, 50*time.Millisecond, func() (bool, string) {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, ""
	})
	for _, img := range []string{"library/golang:1.26-alpine", "docker/dockerfile:1"} {
		out, err := exec.Command("crane", "copy", "--insecure", shared+"/"+img, r.addr+"/"+img).CombinedOutput()
		if err != nil {
			t.Fatalf("crane copy %s to the test's registry: %v\n%s", img, err, out)
		}
	}
	return r
}

// stop kills the registry and waits until its port refuses connections.
func (r *registry) stop(t *testing.T) {
	t.Helper()
	if r.cmd.Process == nil || r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	_ = r.cmd.Wait()
	e2etest.Eventually(t, 10*time.Second, 50*time.Millisecond, func() (bool, string) {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			return true, ""
		}
		c.Close()
		return false, "still accepting connections"
	})
}
