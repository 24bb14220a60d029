package dockerfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImageRefs(t *testing.T) {
	df := filepath.Join(t.TempDir(), "Dockerfile")
	content := `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.26
FROM golang:${GO_VERSION}-alpine AS base
FROM base AS build
FROM alpine:3.20 AS tools
FROM ghcr.io/acme/runner@sha256:0000000000000000000000000000000000000000000000000000000000000000 AS pinned
FROM scratch AS out
`
	if err := os.WriteFile(df, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	syntax, err := NewCache().Syntax(df, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, syntax, want string
	}{
		{"frontend image runs", syntax, "docker.io/docker/dockerfile:1,docker.io/library/alpine:3.20,docker.io/library/golang:1.26-alpine"},
		{"built-in frontend", "", "docker.io/library/alpine:3.20,docker.io/library/golang:1.26-alpine"},
	}
	for _, tt := range tests {
		d, err := NewCache().Load(df)
		if err != nil {
			t.Fatal(err)
		}
		refs := d.ImageRefs(tt.syntax)
		if got := strings.Join(refs, ","); got != tt.want {
			t.Errorf("%s: ImageRefs = %s, want %s", tt.name, got, tt.want)
		}
	}
}

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
