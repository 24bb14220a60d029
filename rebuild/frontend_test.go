package rebuild

import (
	"testing"
)

func TestBuiltinCovers(t *testing.T) {
	tests := []struct {
		syntax, version string
		want            bool
	}{
		{"docker/dockerfile:1", "v0.34.2", true},
		{"docker.io/docker/dockerfile:1", "v0.20.0", true},
		{"docker/dockerfile", "v0.25.1", true},
		{"docker/dockerfile:latest", "v1.0.0", true},
		{"docker/dockerfile:1", "v0.21.0-rc1", true},
		{"docker/dockerfile:1", "v0.19.9", false},               // built-in frontend too old
		{"docker/dockerfile:1", "v0.0.0+unknown", false},        // version cannot be told
		{"docker/dockerfile:1", "", false},                      // version cannot be told
		{"docker/dockerfile:1", "unknown", false},               // version cannot be told
		{"docker/dockerfile:1", "0.34.2", true},                 // without the v
		{"docker/dockerfile:1", "v0.20.0-rc1", true},            // a pre-release of the 0.20 line
		{"docker/dockerfile:1", "v0.100.0", true},               // compared as numbers, not text
		{"docker/dockerfile:1.7", "v0.34.2", false},             // a pinned minor is run as written
		{"docker/dockerfile:1-labs", "v0.34.2", false},          // labs features
		{"docker/dockerfile:1.7-labs", "v0.34.2", false},        //
		{"docker/dockerfile@sha256:" + zeros, "v0.34.2", false}, // a digest is a deliberate pin
		{"docker/dockerfile-upstream:master", "v0.34.2", false},
		{"tonistiigi/dockerfile:runmount", "v0.34.2", false},
		{"ghcr.io/docker/dockerfile:1", "v0.34.2", false}, // another registry's image
		{"", "v0.34.2", false},
		{"not a ref!", "v0.34.2", false},
	}
	for _, tt := range tests {
		if got := BuiltinCovers(tt.syntax, tt.version); got != tt.want {
			t.Errorf("BuiltinCovers(%q, %q) = %v, want %v", tt.syntax, tt.version, got, tt.want)
		}
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"
