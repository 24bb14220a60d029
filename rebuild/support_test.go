package rebuild

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestPinSupport: pins are applied only where the daemon's answer says it applies
// source policies to the Dockerfile frontend's image lookups.
func TestPinSupport(t *testing.T) {
	noInfo := fmt.Errorf("query BuildKit version at docker://unix:///var/run/docker.sock: %w", ErrNoInfo)
	tests := []struct {
		name    string
		version string
		err     error
		want    string // "" for supported
	}{
		{"Docker Engine 20.10 (BuildKit v0.8, no Info)", "", noInfo, "older than v0.11"},
		{"BuildKit v0.11 (Docker Engine 23)", "v0.11.6+0a15675913b7", nil, "not to the Dockerfile frontend's image lookups"},
		{"BuildKit v0.12", "v0.12.0", nil, ""},
		{"the testbed's buildkitd", "v0.34.2", nil, ""},
		{"BuildKit v1", "v1.0.0", nil, ""},
		{"a development build: the capabilities decide", "v0.0.0+unknown", nil, ""},
		{"daemon gone: the solve fails on its own", "", errors.New("connection refused"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := PinSupport("docker://", tt.version, tt.err)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("PinSupport(%q, %v) = %v, want nil", tt.version, tt.err, err)
			case tt.want != "" && (!errors.Is(err, ErrPinsIgnored) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("PinSupport(%q, %v) = %v, want ErrPinsIgnored containing %q", tt.version, tt.err, err, tt.want)
			}
		})
	}
}

// TestExplainUnsupported: a cache exporter the builder lacks is said with the kind of
// builder and what to use instead; other errors pass through untouched.
func TestExplainUnsupported(t *testing.T) {
	exporter := func(typ string) error { return fmt.Errorf("unknown cache exporter: %q", typ) }
	tests := []struct {
		addr string
		err  error
		want []string // nil: err unchanged
	}{
		{"docker://unix:///var/run/docker.sock", exporter("registry"), []string{
			"the Docker Engine's built-in BuildKit (docker://unix:///var/run/docker.sock)",
			`has no "registry" cache exporter (cache.to)`, `unknown cache exporter: "registry"`,
			"type=inline", "docker-container://"}},
		{"docker://unix:///var/run/docker.sock", exporter("local"), []string{`"local" cache exporter`, "type=inline"}},
		{"docker-container://buildx_buildkit_b0", exporter("gha"), []string{
			"a BuildKit container (docker-container://buildx_buildkit_b0)", `"gha" cache exporter`, "upgrade the builder"}},
		{"unix:///run/buildkit/buildkitd.sock", exporter("regsitry"), []string{"buildkitd (unix://", "check the type"}},
		{"docker://unix:///var/run/docker.sock", errors.New("process \"/bin/sh -c false\" did not complete successfully"), nil},
	}
	for _, tt := range tests {
		got := explainUnsupported(tt.addr, tt.err)
		if tt.want == nil {
			if got != tt.err {
				t.Errorf("explainUnsupported(%s, %v) = %v, want the error unchanged", tt.addr, tt.err, got)
			}
			continue
		}
		var ue *UnsupportedError
		if !errors.As(got, &ue) || !errors.Is(got, tt.err) {
			t.Errorf("explainUnsupported(%s, %v) = %#v, want an *UnsupportedError wrapping it", tt.addr, tt.err, got)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(got.Error(), w) {
				t.Errorf("explainUnsupported(%s, %v) = %q, want it to contain %q", tt.addr, tt.err, got, w)
			}
		}
	}
}

func TestBuilderKind(t *testing.T) {
	for addr, want := range map[string]string{
		"docker://":                            "the Docker Engine's built-in BuildKit",
		"docker://unix:///var/run/docker.sock": "the Docker Engine's built-in BuildKit",
		"docker-container://b":                 "a BuildKit container",
		"kube-pod://p":                         "a BuildKit pod",
		"unix:///run/buildkit/buildkitd.sock":  "buildkitd",
		"tcp://127.0.0.1:1234":                 "buildkitd",
	} {
		if got := BuilderKind(addr); got != want {
			t.Errorf("BuilderKind(%q) = %q, want %q", addr, got, want)
		}
	}
}
