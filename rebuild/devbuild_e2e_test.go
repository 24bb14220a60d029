//go:build e2e

package rebuild

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

func connectTestbed(t *testing.T) (*Client, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	c, err := Connect(ctx, Options{Address: e2etest.RequireBuildKit(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, ctx
}

// TestSolveDockerfileSource: a solve given a DockerfileSource builds it, not the
// file, through the # syntax= image and through the built-in frontend alike, with the
// Dockerfile's own .dockerignore (over the context's).
func TestSolveDockerfileSource(t *testing.T) {
	c, ctx := connectTestbed(t)
	dir := t.TempDir()
	e2etest.WriteFile(t, filepath.Join(dir, "Dockerfile"), "# syntax=docker/dockerfile:1\nFROM alpine AS out\nRUN echo file > /which\n")
	e2etest.WriteFile(t, filepath.Join(dir, "Dockerfile.dockerignore"), "secret.txt\n")
	e2etest.WriteFile(t, filepath.Join(dir, ".dockerignore"), "a.txt\n")
	e2etest.WriteFile(t, filepath.Join(dir, "a.txt"), "a\n")
	e2etest.WriteFile(t, filepath.Join(dir, "secret.txt"), "s\n")
	source := "# syntax=docker/dockerfile:1\nFROM alpine AS files\nCOPY . /ctx/\nRUN echo source > /which\n" +
		"FROM scratch AS out\nCOPY --from=files /which /\nCOPY --from=files /ctx /ctx\n"
	for _, builtin := range []bool{false, true} {
		dest := t.TempDir()
		_, err := c.Solve(ctx, Request{
			Target: "out", Stage: "out", Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
			DockerfileSource: []byte(source), BuiltinFrontend: builtin, Dest: dest,
		}, nil)
		if err != nil {
			t.Fatalf("builtin frontend %v: solve: %v", builtin, err)
		}
		if got, _ := os.ReadFile(filepath.Join(dest, "which")); string(got) != "source\n" {
			t.Errorf("builtin frontend %v: /which = %q, want the source's %q", builtin, got, "source\n")
		}
		entries, err := os.ReadDir(filepath.Join(dest, "ctx"))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if !slices.Contains(names, "a.txt") || slices.Contains(names, "secret.txt") {
			t.Errorf("builtin frontend %v: the context sent = %v, want Dockerfile.dockerignore's rules (a.txt in, secret.txt out)", builtin, names)
		}
	}
}

// TestImageConfigs: the testbed's golang image says it has Go (GOLANG_VERSION,
// GOPATH) and works in /go; an image that does not exist is named in the error while
// the others resolve.
func TestImageConfigs(t *testing.T) {
	c, ctx := connectTestbed(t)
	const golang = "golang:1.26-alpine"
	missing := os.Getenv("DEVLOOP_TESTBED_REGISTRY") + "/devloop-e2e/no-such-image:1" // on loopback
	got, err := c.ImageConfigs(ctx, []string{golang, missing})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("ImageConfigs error = %v, want one naming %s", err, missing)
	}
	cfg, ok := got[golang]
	if !ok {
		t.Fatalf("ImageConfigs = %v, want %s", got, golang)
	}
	if !slices.Contains(cfg.Env, "GOPATH=/go") || !slices.ContainsFunc(cfg.Env, func(kv string) bool { return strings.HasPrefix(kv, "GOLANG_VERSION=") }) {
		t.Errorf("%s env = %v, want GOPATH=/go and GOLANG_VERSION", golang, cfg.Env)
	}
	if cfg.WorkingDir != "/go" {
		t.Errorf("%s working dir = %q, want /go", golang, cfg.WorkingDir)
	}
}
