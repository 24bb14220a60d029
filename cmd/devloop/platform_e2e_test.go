//go:build e2e && unix

package main

import (
	"debug/macho"
	"debug/pe"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/internal/e2etest"
)

// The end-to-end tests of platforms (issue 13), against the real testbed: its daemon
// is linux/amd64 and its golang image exists for linux/amd64 only, so another platform
// is reached only by cross-compiling, as the example does.

// nativeDockerfile writes into dir the example's Dockerfile as the guide's first
// chapters write it (nativeExample) and returns it.
func nativeDockerfile(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "Dockerfile")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	native := nativeExample(t, string(data))
	e2etest.WriteFile(t, path, native)
	return native
}

// lineOf is the 1-based line of the first line of src that holds s.
func lineOf(t *testing.T, src, s string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	t.Fatalf("no line holds %q", s)
	return 0
}

func machoCPU(t *testing.T, path string) macho.Cpu {
	t.Helper()
	f, err := macho.Open(path)
	if err != nil {
		t.Fatalf("%s is no Mach-O file: %v", path, err)
	}
	defer f.Close()
	return f.Cpu
}

func peMachine(t *testing.T, path string) uint16 {
	t.Helper()
	f, err := pe.Open(path)
	if err != nil {
		t.Fatalf("%s is no PE file: %v", path, err)
	}
	defer f.Close()
	return f.Machine
}

// TestBuildForOtherPlatforms: the example built for darwin/arm64 gives a Mach-O arm64
// bin/server, for windows/amd64 a PE amd64 one; by the flag or by devloop.yaml.
func TestBuildForOtherPlatforms(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := e2etest.ExampleProject(t, "targets:\n  server:\n    stage: server\n    output: .\n    platform: darwin/arm64\n")
	server := filepath.Join(dir, "bin", "server")

	r := runDevloop(t, dir, "build", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("build for darwin/arm64: %v", r)
	}
	if cpu := machoCPU(t, server); cpu != macho.CpuArm64 {
		t.Errorf("bin/server CPU = %v, want arm64", cpu)
	}
	for _, want := range []string{"[devloop] build started #1: server (darwin/arm64)", "server (darwin/arm64): rebuilt in"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("output lacks %q:\n%v", want, r)
		}
	}

	r = runDevloop(t, dir, "build", "--progress", "plain", "--platform", "windows/amd64")
	if r.Code != 0 {
		t.Fatalf("build --platform windows/amd64: %v", r)
	}
	if m := peMachine(t, server); m != pe.IMAGE_FILE_MACHINE_AMD64 {
		t.Errorf("bin/server machine = %#x, want IMAGE_FILE_MACHINE_AMD64", m)
	}
	if !strings.Contains(r.Stdout, "server (windows/amd64): rebuilt in") {
		t.Errorf("output lacks the platform on the status line:\n%v", r)
	}

	r = runDevloop(t, dir, "build", "--platform", "darwn/arm64")
	if r.Code != exitUsage || !strings.Contains(r.Stderr, `--platform: invalid platform "darwn/arm64": unknown operating system "darwn"`) {
		t.Errorf("build --platform darwn/arm64: %v\nwant exit %d naming the value", r, exitUsage)
	}
}

// TestBuildTwoPlatforms: one subdirectory per platform with the right binaries; back
// to one platform, the stale subdirectory goes, a file the user put there stays.
func TestBuildTwoPlatforms(t *testing.T) {
	e2etest.RequireBuildKit(t)
	yaml := func(platform string) string {
		return "targets:\n  binaries:\n    output: bin\n    platform: " + platform + "\n"
	}
	dir := e2etest.ExampleProject(t, yaml("[linux/amd64, darwin/arm64]"))
	bin := filepath.Join(dir, "bin")
	r := runDevloop(t, dir, "build", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("build for two platforms: %v", r)
	}
	if got, want := output(t, filepath.Join(bin, "linux_amd64", "server"), "--version"), "server 0.0.0+unknown"; got != want {
		t.Errorf("bin/linux_amd64/server --version = %q, want %q", got, want)
	}
	for _, name := range []string{"server", "client"} {
		if cpu := machoCPU(t, filepath.Join(bin, "darwin_arm64", name)); cpu != macho.CpuArm64 {
			t.Errorf("bin/darwin_arm64/%s CPU = %v, want arm64", name, cpu)
		}
	}
	if !strings.Contains(r.Stdout, "binaries (linux/amd64, darwin/arm64): rebuilt in") {
		t.Errorf("output lacks the platforms on the status line:\n%v", r)
	}
	e2etest.WriteFile(t, filepath.Join(bin, "darwin_arm64", "notes.txt"), "mine\n")

	e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), yaml("linux/amd64"))
	r = runDevloop(t, dir, "build", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("build for one platform: %v", r)
	}
	got := e2etest.TakeSnapshot(t, bin)
	var names []string
	for p := range got {
		names = append(names, p)
	}
	want := map[string]bool{"server": true, "client": true, "darwin_arm64/notes.txt": true}
	if len(got) != len(want) {
		t.Errorf("bin holds %v, want %v", names, want)
	}
	for p := range want {
		if _, ok := got[p]; !ok {
			t.Errorf("bin lacks %s: %v", p, names)
		}
	}
	if _, err := os.Stat(filepath.Join(bin, "linux_amd64")); !os.IsNotExist(err) {
		t.Errorf("bin/linux_amd64 is still there (%v): devloop created it and it is empty", err)
	}
	if got, want := output(t, filepath.Join(bin, "server"), "--version"), "server 0.0.0+unknown"; got != want {
		t.Errorf("bin/server --version = %q, want %q", got, want)
	}
}

// TestBuildLocal: local is this machine's platform, and the binary runs here.
func TestBuildLocal(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := e2etest.ExampleProject(t, "build_args: {APP_VERSION: local-1}\ntargets:\n  server:\n    output: .\n    platform: local\n")
	if got, want := config.LocalPlatform(), runtime.GOOS+"/"+runtime.GOARCH; got != want {
		t.Fatalf("local = %s, want %s", got, want)
	}
	r := runDevloop(t, dir, "build", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("build for local: %v", r)
	}
	if got, want := output(t, filepath.Join(dir, "bin", "server"), "--version"), "server local-1"; got != want {
		t.Errorf("bin/server --version = %q, want %q", got, want)
	}
}

// TestBuildNotCrossCompiling: a Dockerfile that does not cross-compile, asked for
// darwin/arm64, quietly makes a Linux binary (the testbed's golang image is a single
// linux/amd64 manifest, which BuildKit takes for any platform). devloop reads the
// header: exit 1, ./bin unchanged, and the message names the binary, what it is, what
// was asked, and the Dockerfile lines to change — which it also said before the solve.
func TestBuildNotCrossCompiling(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := e2etest.ExampleProject(t, "targets:\n  server:\n    output: .\n")
	src := nativeDockerfile(t, dir)
	if r := runDevloop(t, dir, "build"); r.Code != 0 {
		t.Fatalf("native build: %v", r)
	}
	bin := filepath.Join(dir, "bin")
	before := e2etest.TakeSnapshot(t, bin, e2etest.Inodes)

	r := runDevloop(t, dir, "build", "--platform", "darwin/arm64")
	if r.Code != exitBuildFailed {
		t.Fatalf("build --platform darwin/arm64 of a Dockerfile that does not cross-compile: exit %d, want %d\n%v", r.Code, exitBuildFailed, r)
	}
	if diff := e2etest.TakeSnapshot(t, bin, e2etest.Inodes).Diff(before); diff != "" {
		t.Errorf("bin changed after the failed build:\n%s", diff)
	}
	from, run := lineOf(t, src, "FROM golang"), lineOf(t, src, "FROM base AS build-server")+2
	out := r.Stdout + r.Stderr
	for _, want := range []string{
		"server (darwin/arm64): build failed: bin/server is an ELF executable for linux/amd64, not for darwin/arm64",
		fmt.Sprintf("Dockerfile:%d: FROM golang:${GO_VERSION}-alpine runs the go build on line %d", from, run),
		"FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS base",
		fmt.Sprintf("Dockerfile:%d: go build does not compile for the target platform (darwin/arm64)", run),
		"ARG TARGETOS TARGETARCH",
		"GOOS=$TARGETOS GOARCH=$TARGETARCH go build",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The check before the solve said it once, as a warning.
	if n := strings.Count(out, "[devloop] warning: "+filepath.Join(dir, "Dockerfile")+fmt.Sprintf(":%d: FROM", from)); n != 1 {
		t.Errorf("the warning about the FROM appears %d times, want once:\n%s", n, out)
	}
}

// TestUpBuildsRunTargetForLocal: a run: target with no platform: builds for this
// machine (the daemon's platform here, so the solve names none) and serves.
func TestUpBuildsRunTargetForLocal(t *testing.T) {
	_, up := serveExample(t, "", "hello local")
	if line := up.WaitLines(reStarted, 1, time.Minute)[0]; strings.Contains(line, "(") {
		t.Errorf("build started line %q names a platform; the local one is the daemon's here", line)
	}
}

// TestUpRunTargetForAnotherPlatform: a run: target built for a platform this machine
// cannot run: the start fails with a message naming both platforms, not a bare "exec
// format error".
func TestUpRunTargetForAnotherPlatform(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := e2etest.ExampleProject(t, "targets:\n  server:\n    output: .\n    platform: darwin/arm64\n    run:\n      command: [bin/server]\n")
	up := startUp(t, dir)
	host := runtime.GOOS + "/" + runtime.GOARCH
	want := regexp.MustCompile(`^server: (start|restart) failed: start server: bin/server is a Mach-O executable for darwin/arm64 and cannot run on this ` +
		regexp.QuoteMeta(host) + ` machine \(exec format error\)`)
	up.WaitLines(want, 1, 5*time.Minute)
}

// TestUpAffectedPlatforms: two targets of one source tree built for two platforms; an
// edit of a _darwin.go file rebuilds only the darwin one.
func TestUpAffectedPlatforms(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := e2etest.ExampleProject(t, `targets:
  server-linux:
    stage: server
    output: out/linux
    platform: linux/amd64
  server-darwin:
    stage: server
    output: out/darwin
    platform: darwin/arm64
watch:
  debounce: 50ms
`)
	greeting := filepath.Join(dir, "internal", "greeting")
	e2etest.WriteFile(t, filepath.Join(greeting, "os_darwin.go"), "package greeting\n\nconst osName = \"darwin\"\n")
	e2etest.WriteFile(t, filepath.Join(greeting, "os_linux.go"), "package greeting\n\nconst osName = \"linux\"\n")
	up := startUp(t, dir)
	up.WaitLines(reOK, 1, 5*time.Minute)
	if strings.Contains(up.Output(), "inputs unknown") {
		t.Fatalf("the targets' inputs are unknown:\n%s", up.Output())
	}

	e2etest.WriteFile(t, filepath.Join(greeting, "os_darwin.go"), "package greeting\n\nconst osName = \"macOS\"\n")
	line := up.WaitLines(reStartedLine, 2, 2*time.Minute)[2]
	if !strings.HasPrefix(line, "server-darwin (darwin/arm64) (not affected: server-linux)") {
		t.Errorf("an edit of os_darwin.go: %q, want only server-darwin rebuilt", line)
	}
	up.WaitLines(reOK, 2, 2*time.Minute)

	e2etest.WriteFile(t, filepath.Join(greeting, "new_linux.go"), "package greeting\n")
	line = up.WaitLines(reStartedLine, 3, 2*time.Minute)[2]
	if !strings.HasPrefix(line, "server-linux (not affected: server-darwin)") {
		t.Errorf("a new _linux.go file: %q, want only server-linux rebuilt", line)
	}
	up.WaitLines(reOK, 3, 2*time.Minute)

	e2etest.WriteFile(t, filepath.Join(greeting, "greeting_shared.go"), "package greeting\n")
	line = up.WaitLines(reStartedLine, 4, 2*time.Minute)[2]
	if strings.Contains(line, "not affected") {
		t.Errorf("a file both build: %q, want both rebuilt", line)
	}
}

// TestUpRunsLocalPlatformsFile: a run: target built for several platforms starts its
// process from the local platform's subdirectory.
func TestUpRunsLocalPlatformsFile(t *testing.T) {
	dir, up := serveExample(t, "    platform: [darwin/arm64, local]\n", "hello from two platforms")
	if cpu := machoCPU(t, filepath.Join(dir, "darwin_arm64", "bin", "server")); cpu != macho.CpuArm64 {
		t.Errorf("darwin_arm64/bin/server CPU = %v, want arm64", cpu)
	}
	local := filepath.Join(dir, strings.ReplaceAll(config.LocalPlatform(), "/", "_"), "bin", "server")
	if _, err := os.Stat(local); err != nil {
		t.Errorf("the local platform's server: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "server")); !os.IsNotExist(err) {
		t.Errorf("bin/server exists (%v); a two-platform export has none", err)
	}
	up.WaitLines(reOK, 1, time.Minute)
}

// TestUpPlatformFlag: --platform on devloop up replaces devloop.yaml's platform, and
// still does after a reload of devloop.yaml rebuilds the target.
func TestUpPlatformFlag(t *testing.T) {
	e2etest.RequireBuildKit(t)
	yaml := func(version string) string {
		return "build_args: {APP_VERSION: " + version + "}\ntargets:\n  server:\n    output: .\n    platform: windows/amd64\nwatch:\n  debounce: 50ms\n"
	}
	dir := e2etest.ExampleProject(t, yaml("one"))
	server := filepath.Join(dir, "bin", "server")
	up := startUp(t, dir, "--platform", "darwin/arm64")
	if m := up.WaitLines(reStartedLine, 1, 5*time.Minute); m[2] != "server (darwin/arm64)" {
		t.Errorf("build started #%s: %q, want server (darwin/arm64)", m[1], m[2])
	}
	up.WaitLines(reOK, 1, 5*time.Minute)
	if cpu := machoCPU(t, server); cpu != macho.CpuArm64 {
		t.Errorf("bin/server CPU = %v, want arm64", cpu)
	}
	first, err := os.ReadFile(server)
	if err != nil {
		t.Fatal(err)
	}

	e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), yaml("two"))
	up.WaitLines(regexp.MustCompile(`^\[devloop\] reloaded devloop\.yaml: applied build_args\.APP_VERSION; rebuilding server$`), 1, time.Minute)
	if m := up.WaitLines(reStartedLine, 2, 2*time.Minute); !strings.HasPrefix(m[2], "server (darwin/arm64) — ") {
		t.Errorf("build started #%s after the reload: %q, want server (darwin/arm64) and the change", m[1], m[2])
	}
	up.WaitLines(reOK, 2, 2*time.Minute)
	if cpu := machoCPU(t, server); cpu != macho.CpuArm64 {
		t.Errorf("bin/server CPU after the reload = %v, want arm64", cpu)
	}
	if second, err := os.ReadFile(server); err != nil || string(second) == string(first) {
		t.Errorf("bin/server was not rebuilt by the reload (%v)", err)
	}
}

// serveExample runs devloop up on the example with a server target (its output ".",
// the lines platform adds, a run: serving on a free port) and waits until it serves
// greeting.
func serveExample(t *testing.T, platform, greeting string) (string, *e2etest.Up) {
	t.Helper()
	e2etest.RequireBuildKit(t)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := e2etest.ExampleProject(t, fmt.Sprintf("targets:\n  server:\n    output: .\n%s    run:\n      command: [bin/server, --addr, \"127.0.0.1:%d\"]\n      ready: %s\n", platform, port, url))
	e2etest.SetGreeting(t, dir, greeting)
	up := startUp(t, dir)
	e2etest.WaitServes(t, url, greeting, 5*time.Minute)
	return dir, up
}
