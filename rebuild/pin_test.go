package rebuild

import (
	"github.com/opencontainers/go-digest"
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
	syntax, err := Syntax(df, nil)
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
		refs, err := ImageRefs(df, tt.syntax)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(refs, ","); got != tt.want {
			t.Errorf("%s: ImageRefs = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestPinsPolicy(t *testing.T) {
	if p := (Pins{}).policy(); p != nil {
		t.Errorf("empty pins policy = %v, want nil", p)
	}
	d := "sha256:c3e44ffed7af1ace6788d487f10adcf027658ddb9e2dc910c92d2ce92da35ba2"
	pol := Pins{"docker.io/library/golang:1.26-alpine": digestOf(d)}.policy()
	if len(pol.Rules) != 1 {
		t.Fatalf("rules = %v, want 1", pol.Rules)
	}
	r := pol.Rules[0]
	if got, want := r.Selector.Identifier, "docker-image://docker.io/library/golang:1.26-alpine"; got != want {
		t.Errorf("selector = %s, want %s", got, want)
	}
	if got, want := r.Updates.Identifier, "docker-image://docker.io/library/golang:1.26-alpine@"+d; got != want {
		t.Errorf("update = %s, want %s", got, want)
	}
}

func digestOf(s string) digest.Digest { return digest.Digest(s) }
