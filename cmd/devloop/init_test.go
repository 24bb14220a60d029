package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/internal/e2etest"
)

// TestInit runs `devloop init` on the guide's Dockerfile (the example's): the written
// devloop.yaml must load, propose the scratch stages with a run: for the server, and a
// second init must refuse to overwrite it without --force.
func TestInit(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	src, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "examples", "greeter", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	yaml := filepath.Join(dir, "devloop.yaml")
	df := filepath.Join(dir, "Dockerfile")

	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"init", "-f", yaml, "--dockerfile", df}, &out, &errb); code != 0 {
		t.Fatalf("init exit %d, stderr:\n%s", code, errb.String())
	}
	for _, stage := range []string{"base", "build-client", "build-server", "client", "server", "binaries"} {
		if !strings.Contains(out.String(), stage) {
			t.Errorf("init output does not list stage %q:\n%s", stage, out.String())
		}
	}
	cfg, err := config.Load(yaml, configGrammars())
	if err != nil {
		data, _ := os.ReadFile(yaml)
		t.Fatalf("generated devloop.yaml does not load: %v\n%s", err, data)
	}
	if got, want := strings.Join(cfg.TargetNames(), ","), "client,server"; got != want {
		t.Errorf("targets = %s, want %s", got, want)
	}
	if r := cfg.Targets["server"].Run; r == nil || strings.Join(r.Command, " ") != "bin/server" {
		t.Errorf("server run = %+v, want command [bin/server]", r)
	}
	if cfg.Targets["client"].Run != nil {
		t.Errorf("client has a run: section, want none")
	}
	if got, want := cfg.Targets["server"].Output, dir; got != want {
		t.Errorf("server output = %s, want %s (so the binary lands in ./bin/server)", got, want)
	}

	errb.Reset()
	if code := run(t.Context(), []string{"init", "-f", yaml, "--dockerfile", df}, &out, &errb); code != exitUsage {
		t.Errorf("second init exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(errb.String(), "--force") {
		t.Errorf("second init stderr = %q, want a hint about --force", errb.String())
	}
	if code := run(t.Context(), []string{"init", "-f", yaml, "--dockerfile", df, "--force"}, &out, &errb); code != 0 {
		t.Errorf("init --force exit %d, want 0", code)
	}
}

// TestInitUnnamedStage: the reproduction — `FROM … AS builder`, then a bare
// `FROM scratch` copying the executable — printed the stage as #1 and wrote
// `app: {stage: app}`, which no build could find. Now it lists stage-1, and the
// written devloop.yaml names it so, exports the file into ./bin and runs it with
// the image's ENTRYPOINT and EXPOSE.
func TestInitUnnamedStage(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"go.mod":          "module example.com/echo\n\ngo 1.26\n",
		"cmd/app/main.go": "package main\n\nfunc main() {}\n",
		"Dockerfile":      "FROM golang:1.26-alpine AS builder\nWORKDIR /src\nCOPY . .\nRUN CGO_ENABLED=0 go build -o /app ./cmd/app\n\nFROM scratch\nCOPY --from=builder /app /\nEXPOSE 1323\nENTRYPOINT [\"/app\", \"-port\", \"1323\"]\n",
	})
	yaml := filepath.Join(dir, "devloop.yaml")
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"init", "-f", yaml, "--dockerfile", filepath.Join(dir, "Dockerfile")}, &out, &errb); code != 0 {
		t.Fatalf("init exit %d, stderr:\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "\n  stage-1          FROM scratch (line 6)\n") || strings.Contains(out.String(), "#1") {
		t.Errorf("init output does not list the unnamed stage as stage-1:\n%s", out.String())
	}
	cfg, err := config.Load(yaml, configGrammars())
	if err != nil {
		data, _ := os.ReadFile(yaml)
		t.Fatalf("generated devloop.yaml does not load: %v\n%s", err, data)
	}
	app := cfg.Targets["app"]
	if app == nil || app.Stage != "stage-1" || app.Output != filepath.Join(dir, "bin") {
		t.Fatalf("targets = %+v, want app with stage stage-1 and output %s", cfg.Targets, filepath.Join(dir, "bin"))
	}
	if r := app.Run; r == nil || strings.Join(r.Command, " ") != "bin/app -port 1323" || r.Ready != "tcp://127.0.0.1:1323" {
		t.Errorf("app run = %+v, want command bin/app -port 1323, ready tcp://127.0.0.1:1323", r)
	}
}

// TestInitLintAdviceNamesDevBuild: init writes a devloop.yaml with the dev build on
// (dev_transform's default), so its cache-mount advice must say what `devloop build`
// says of the same lines — it is for the user's own docker build, devloop's builds
// get the mounts and lose -a already — not tell a new user to edit the Dockerfile
// before devloop can be fast.
func TestInitLintAdviceNamesDevBuild(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"go.mod":          "module example.com/a\n\ngo 1.26\n",
		"go.sum":          "",
		"cmd/api/main.go": "package main\n\nfunc main() {}\n",
		"Dockerfile":      "FROM golang:1.26-alpine AS build\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download\nCOPY . .\nRUN CGO_ENABLED=0 go build -a -o /app ./cmd/api\n\nFROM scratch\nCOPY --from=build /app /app\nENTRYPOINT [\"/app\"]\n",
	})
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"init", "-f", filepath.Join(dir, "devloop.yaml"), "--dockerfile", filepath.Join(dir, "Dockerfile")}, &out, &errb); code != 0 {
		t.Fatalf("init exit %d, stderr:\n%s", code, errb.String())
	}
	var warnings int
	lines := strings.Split(out.String(), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "warning: ") {
			continue
		}
		warnings++
		if i+1 >= len(lines) || !strings.HasSuffix(lines[i+1], " for your own docker build (devloop's dev build does it: see dev_transform)") {
			t.Errorf("advice after %q does not say devloop's dev build does it:\n%s", l, out.String())
		}
	}
	if warnings != 2 {
		t.Errorf("%d warnings, want 2 (go mod download, go build -a):\n%s", warnings, out.String())
	}
}

// writeProject writes files (slash paths → content) into a new temporary directory
// and returns it.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		e2etest.WriteFile(t, filepath.Join(dir, filepath.FromSlash(rel)), content)
	}
	return dir
}
