package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/devloop/devloop/config"
)

// devloop init on a Dockerfile that cross-compiles proposes platform: local for the
// run: target; on one that does not, it writes the advice as a comment.
func TestInitPlatform(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "greeter", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	native := nativeExample(t, string(example))
	// lineOf is the line of the first line of src holding s.
	lineOf := func(src, s string) int {
		return slices.IndexFunc(strings.Split(src, "\n"), func(l string) bool { return strings.Contains(l, s) }) + 1
	}
	tests := []struct {
		name, dockerfile string
		want             []string
		unwanted         []string
	}{
		{"cross-compiling", string(example),
			[]string{"    platform: local "},
			[]string{"# platform"}},
		{"not cross-compiling", native,
			[]string{
				"    # platform: local ",
				"# the default for a run: target",
				"make it cross-compile:",
				"    #   Dockerfile:" + itoa(lineOf(native, "FROM golang")) + ": FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS base\n",
				"    #   Dockerfile:" + itoa(lineOf(native, "FROM base AS build-server")+2) + ": ARG TARGETOS TARGETARCH\n",
				"RUN … GOOS=$TARGETOS GOARCH=$TARGETARCH go build …\n",
			},
			[]string{"\n    platform:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			df, yaml := filepath.Join(dir, "Dockerfile"), filepath.Join(dir, "devloop.yaml")
			if err := os.WriteFile(df, []byte(tt.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errb bytes.Buffer
			if code := run(t.Context(), []string{"init", "-f", yaml, "--dockerfile", df}, &out, &errb); code != 0 {
				t.Fatalf("init exit %d, stderr:\n%s", code, errb.String())
			}
			data, err := os.ReadFile(yaml)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(data), w) {
					t.Errorf("devloop.yaml lacks %q:\n%s", w, data)
				}
			}
			for _, w := range tt.unwanted {
				if strings.Contains(string(data), w) {
					t.Errorf("devloop.yaml has %q:\n%s", w, data)
				}
			}
			cfg, err := config.Load(yaml, configGrammars())
			if err != nil {
				t.Fatalf("generated devloop.yaml does not load: %v\n%s", err, data)
			}
			if got, want := cfg.Targets["server"].Platforms, []string{config.LocalPlatform()}; !slices.Equal(got, want) {
				t.Errorf("server platforms = %q, want %q", got, want)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// nativeExample is the example's Dockerfile (src) as the guide's first chapters write
// it: the toolchain runs on the target platform and go build compiles for its own.
func nativeExample(t *testing.T, src string) string {
	t.Helper()
	native := strings.NewReplacer("FROM --platform=$BUILDPLATFORM golang", "FROM golang",
		"ARG TARGETOS TARGETARCH\n", "", "GOOS=$TARGETOS GOARCH=$TARGETARCH go build", "go build").Replace(src)
	if native == src {
		t.Fatal("the example no longer cross-compiles as the test expects")
	}
	return native
}
