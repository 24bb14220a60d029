package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/devloop/devloop/config"
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
