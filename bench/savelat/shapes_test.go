package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/dockerfile/golang"
)

func TestShapeOf(t *testing.T) {
	for _, tt := range []struct {
		loop    string
		shape   string
		written bool
	}{
		{"devloop-release", "release", false},
		{"devloop-script-written", "script", true},
		{"devloop-gopath", "gopath", false},
		{"devloop", "", false},
		{"devloop-server", "", false},
		{"devloop-nosuch-written", "", false},
	} {
		sh, written := shapeOf(tt.loop)
		name := ""
		if sh != nil {
			name = sh.name
		}
		if name != tt.shape || written != tt.written {
			t.Errorf("shapeOf(%q) = %q, %v; want %q, %v", tt.loop, name, written, tt.shape, tt.written)
		}
	}
	if got := len(shapeLoops()); got != 2*len(shapes) {
		t.Errorf("shapeLoops() has %d loops, want 2 per shape", got)
	}
	for _, l := range shapeLoops() {
		if !slices.Contains(knownLoops(), l) || slices.Contains(loopNames, l) {
			t.Errorf("shape loop %s: known %v, default %v; want known, not run by default", l, slices.Contains(knownLoops(), l), slices.Contains(loopNames, l))
		}
	}
}

// TestShapesBuildTheExample: every shape's Dockerfile has the server and client
// stages the benchmark's devloop.yaml targets, and the dev build changes it (the
// comparison measures something).
func TestShapesBuildTheExample(t *testing.T) {
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := sh.apply(dir); err != nil {
				t.Fatal(err)
			}
			for name := range sh.files {
				if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm()&0o100 == 0 {
					t.Errorf("%s: %v, want an executable file", name, err)
				}
			}
			d, err := dockerfile.NewCache().Load(filepath.Join(dir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			for _, stage := range []string{"server", "client"} {
				if _, ok := d.Stage(stage); !ok {
					t.Errorf("no stage %s", stage)
				}
			}
			dev, err := golang.DevBuild(d, golang.DevOptions{Context: dir, Targets: []string{"server", "client"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(dev.Changes) == 0 || !strings.Contains(string(dev.Source), "--mount=type=cache,target=/root/.cache/go-build,sharing=locked") {
				t.Errorf("the dev build changes nothing:\n%s", dev.Source)
			}
		})
	}
}

func TestReportShapesSideBySide(t *testing.T) {
	r := &report{Loops: []loopResult{loopWith("devloop-release", 1500), loopWith("devloop-release-written", 60000), loopWith("devloop-script", 1000)}}
	var b strings.Builder
	r.write(&b)
	got := b.String()
	if want := "| release | 60.000s | 1.500s | 40.00× |"; !strings.Contains(got, want) {
		t.Errorf("report is missing %q; got:\n%s", want, got)
	}
	if strings.Contains(got, "| script |") {
		t.Errorf("report compares script without its as-written loop; got:\n%s", got)
	}
}
