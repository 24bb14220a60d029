package dockerfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSyntax(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		args          map[string]string
		want          string
	}{
		{"syntax line", "# syntax=docker/dockerfile:1\nFROM scratch\n", nil, "docker/dockerfile:1"},
		{"no syntax line", "FROM scratch\n", nil, ""},
		{"build arg wins", "# syntax=docker/dockerfile:1\nFROM scratch\n", map[string]string{"BUILDKIT_SYNTAX": "docker/dockerfile:1.7 --flag"}, "docker/dockerfile:1.7"},
		{"build arg without a line", "FROM scratch\n", map[string]string{"BUILDKIT_SYNTAX": "docker/dockerfile:1"}, "docker/dockerfile:1"},
	}
	for i, tt := range tests {
		df := filepath.Join(dir, tt.name)
		if err := os.WriteFile(df, []byte(tt.content), 0o644); err != nil {
			t.Fatal(i, err)
		}
		got, err := NewCache().Syntax(df, tt.args)
		if err != nil {
			t.Fatalf("%s: Syntax: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: Syntax = %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, err := NewCache().Syntax(filepath.Join(dir, "missing"), nil); err == nil {
		t.Errorf("Syntax of a missing Dockerfile: got no error, want one")
	}
}

// TestImageRefs: a target pins the images its stages use, after ARG expansion with
// its build args (issue 16 §7: every stage's image was pinned, also those no target
// needs, and ARG-templated FROMs never).
func TestImageRefs(t *testing.T) {
	df := filepath.Join(t.TempDir(), "Dockerfile")
	content := `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.26
ARG BASE
ARG REGISTRY=registry.example.com
FROM golang:${GO_VERSION}-alpine AS base
FROM base AS build
RUN --mount=type=bind,from=tools,target=/t --mount=type=cache,target=/c true
COPY --from=busybox:1.36 /bin/busybox /bin/
FROM alpine:3.20 AS tools
ARG TOOL_IMAGE=ghcr.io/acme/lint:2
COPY --from=${TOOL_IMAGE} /lint /lint
FROM ${REGISTRY}/private/runtime:1 AS runtime
COPY --from=build /out /
FROM ${BASE} AS templated
FROM ghcr.io/acme/runner@sha256:0000000000000000000000000000000000000000000000000000000000000000 AS pinned
FROM scratch AS out
COPY --from=build /out/app /
FROM debian:12 AS unrelated
`
	if err := os.WriteFile(df, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := NewCache().Load(df)
	if err != nil {
		t.Fatal(err)
	}
	stage := func(name string) int {
		s, ok := d.Stage(name)
		if !ok {
			t.Fatalf("no stage %s", name)
		}
		return s.Index
	}
	tests := []struct {
		name, stage string
		args        map[string]string
		syntax      string
		want        string
	}{
		{"scratch target: its chain only", "out", nil, "",
			"docker.io/library/alpine:3.20,docker.io/library/busybox:1.36,docker.io/library/golang:1.26-alpine,ghcr.io/acme/lint:2"},
		{"build args replace defaults", "out", map[string]string{"GO_VERSION": "1.25", "TOOL_IMAGE": "ghcr.io/acme/lint:3"}, "",
			"docker.io/library/alpine:3.20,docker.io/library/busybox:1.36,docker.io/library/golang:1.25-alpine,ghcr.io/acme/lint:3"},
		{"the frontend image", "tools", nil, "docker/dockerfile:1",
			"docker.io/docker/dockerfile:1,docker.io/library/alpine:3.20,ghcr.io/acme/lint:2"},
		{"a templated registry", "runtime", map[string]string{"REGISTRY": "mirror.local:5000"}, "",
			"docker.io/library/alpine:3.20,docker.io/library/busybox:1.36,docker.io/library/golang:1.26-alpine,ghcr.io/acme/lint:2,mirror.local:5000/private/runtime:1"},
		{"an ARG without a value", "templated", nil, "", ""},
		{"the ARG given", "templated", map[string]string{"BASE": "alpine:3.21"}, "", "docker.io/library/alpine:3.21"},
		{"a digest needs no pin", "pinned", nil, "", ""},
		{"unrelated", "unrelated", nil, "", "docker.io/library/debian:12"},
	}
	for _, tt := range tests {
		got := strings.Join(d.ImageRefs(stage(tt.stage), tt.args, tt.syntax), ",")
		if got != tt.want {
			t.Errorf("%s: ImageRefs(%s) = %s\nwant %s", tt.name, tt.stage, got, tt.want)
		}
	}
}
