//go:build e2e

package main

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

const exampleYAML = `
build_args:
  APP_VERSION: e2e-1
targets:
  server:
    stage: server
    output: .
  client:
    stage: client
    output: .
`

// TestBuildExample drives `devloop build` against the real testbed: first build, a no-op
// rebuild, a server-only edit, a compile error, and the guide's `binaries` form.
func TestBuildExample(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := e2etest.ExampleProject(t, exampleYAML)
	bin := filepath.Join(dir, "bin")

	r := runDevloop(t, dir, "build", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("first build: %v", r)
	}
	for _, want := range []string{"[devloop] build started", "[devloop] build ok", "updated bin/server", "updated bin/client"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("first build stdout lacks %q:\n%v", want, r)
		}
	}
	if got, want := output(t, filepath.Join(bin, "server"), "--version"), "server e2e-1"; got != want {
		t.Errorf("bin/server --version = %q, want %q", got, want)
	}
	if got, want := output(t, filepath.Join(bin, "client"), "--version"), "client e2e-1"; got != want {
		t.Errorf("bin/client --version = %q, want %q", got, want)
	}
	first := e2etest.TakeSnapshot(t, bin, e2etest.Inodes)
	if len(first) != 2 {
		t.Fatalf("bin holds %v, want exactly server and client", first)
	}

	t.Run("no change rewrites nothing", func(t *testing.T) {
		r := runDevloop(t, dir, "build", "--progress", "quiet")
		if r.Code != 0 {
			t.Fatalf("second build: %v", r)
		}
		if strings.Contains(r.Stdout, "updated") {
			t.Errorf("second build updated files:\n%v", r)
		}
		if got := e2etest.TakeSnapshot(t, bin, e2etest.Inodes); !maps.Equal(got, first) {
			t.Errorf("bin after no-op build = %v, want %v (same digests and inodes)", got, first)
		}
	})

	t.Run("server edit changes only bin/server", func(t *testing.T) {
		replaceInFile(t, filepath.Join(dir, "cmd", "server", "handler.go"), "fmt.Fprintln(w, version)", `fmt.Fprintln(w, "v", version)`)
		r := runDevloop(t, dir, "build", "--progress", "quiet")
		if r.Code != 0 {
			t.Fatalf("build after edit: %v", r)
		}
		got := e2etest.TakeSnapshot(t, bin, e2etest.Inodes)
		if got["server"] == first["server"] {
			t.Errorf("bin/server did not change after a server edit:\n%v", r)
		}
		if got["client"] != first["client"] {
			t.Errorf("bin/client = %q, want unchanged %q (same digest and inode)", got["client"], first["client"])
		}
		if !strings.Contains(r.Stdout, "updated bin/server") || strings.Contains(r.Stdout, "updated bin/client") {
			t.Errorf("status lines do not say that only bin/server changed:\n%v", r)
		}
	})

	// The example's Dockerfile starts with # syntax=docker/dockerfile:1. By default the
	// daemon's built-in frontend runs it (no frontend image per build); with
	// builder.frontend: image the image does, as docker build would.
	t.Run("frontend", func(t *testing.T) {
		const frontendImage = "docker-image://docker.io/docker/dockerfile:1"
		t.Cleanup(func() { e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), exampleYAML) })
		for _, tt := range []struct {
			frontend  string
			wantImage bool
		}{{"auto", false}, {"image", true}} {
			e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), "builder: {frontend: "+tt.frontend+"}\n"+exampleYAML)
			r := runDevloop(t, dir, "build", "server", "--progress", "rawjson")
			if r.Code != 0 {
				t.Fatalf("build with builder.frontend: %s: %v", tt.frontend, r)
			}
			if got := strings.Contains(r.Stderr, frontendImage); got != tt.wantImage {
				t.Errorf("builder.frontend: %s: progress names %s: %v, want %v\n%v", tt.frontend, frontendImage, got, tt.wantImage, r)
			}
		}
	})

	t.Run("compile error keeps bin", func(t *testing.T) {
		before := e2etest.TakeSnapshot(t, bin, e2etest.Inodes)
		handler := filepath.Join(dir, "cmd", "server", "handler.go")
		replaceInFile(t, handler, "return mux", "return mux +")
		r := runDevloop(t, dir, "build", "--progress", "quiet")
		if r.Code != 1 {
			t.Fatalf("build with a syntax error: exit %d, want 1\n%v", r.Code, r)
		}
		if !strings.Contains(r.Stdout, "handler.go:") || !strings.Contains(r.Stdout, "syntax error") {
			t.Errorf("output lacks the compiler message:\n%v", r)
		}
		if !strings.Contains(r.Stdout, "[devloop] build failed") {
			t.Errorf("output lacks the failed end line:\n%v", r)
		}
		if got := e2etest.TakeSnapshot(t, bin, e2etest.Inodes); !maps.Equal(got, before) {
			t.Errorf("bin after failed build = %v, want unchanged %v", got, before)
		}
		replaceInFile(t, handler, "return mux +", "return mux")
	})

	t.Run("binaries stage into bin", func(t *testing.T) {
		dir := e2etest.ExampleProject(t, `
build_args: {APP_VERSION: e2e-2}
targets:
  binaries:
    output: bin
`)
		r := runDevloop(t, dir, "build", "--progress", "quiet")
		if r.Code != 0 {
			t.Fatalf("build binaries: %v", r)
		}
		for _, name := range []string{"server", "client"} {
			if got, want := output(t, filepath.Join(dir, "bin", name), "--version"), name+" e2e-2"; got != want {
				t.Errorf("bin/%s --version = %q, want %q", name, got, want)
			}
		}
	})
}

// TestBuildUnreachable: a wrong builder address fails fast with exit code 3 and a
// message naming the address and how to start a daemon.
func TestBuildUnreachable(t *testing.T) {
	dir := e2etest.ExampleProject(t, exampleYAML)
	addr := "unix://" + filepath.Join(t.TempDir(), "nothing-here.sock")
	r := runDevloop(t, dir, "build", "--addr", addr)
	if r.Code != 3 {
		t.Fatalf("exit code %d, want 3\n%v", r.Code, r)
	}
	for _, want := range []string{"cannot reach BuildKit at " + addr, "buildkitd", "BUILDKIT_HOST"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%v", want, r)
		}
	}
	if r.Elapsed > 10*time.Second {
		t.Errorf("unreachable builder took %s to report, want a fast failure", r.Elapsed)
	}
}

// TestBuildBadConfig: an invalid devloop.yaml exits 2 naming file, line and key.
func TestBuildBadConfig(t *testing.T) {
	dir := e2etest.ExampleProject(t, "targets:\n  server:\n    stag: server\n")
	r := runDevloop(t, dir, "build")
	if r.Code != 2 {
		t.Fatalf("exit code %d, want 2\n%v", r.Code, r)
	}
	if want := "devloop.yaml:3:5: targets.server.stag"; !strings.Contains(r.Stderr, want) {
		t.Errorf("stderr lacks %q:\n%v", want, r)
	}
}
