package rebuild

import (
	"errors"
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// The names BuildKit's local exporter gives the platform subdirectories
// (exporter/local's TestPlatformIDToPath).
func TestPlatformDir(t *testing.T) {
	for in, want := range map[string]string{
		"linux/amd64":         "linux_amd64",
		"darwin/arm64":        "darwin_arm64",
		"linux/arm/v7":        "linux_arm_v7",
		"windows/amd64":       "windows_amd64",
		`..\buildkit-outside`: ".._buildkit-outside",
		"windows/amd64:C":     "windows_amd64_C",
	} {
		if got := PlatformDir(in); got != want {
			t.Errorf("PlatformDir(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlatformAttr(t *testing.T) {
	amd64 := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := ocispecs.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	tests := []struct {
		name      string
		platforms []string
		daemon    ocispecs.Platform
		want      string
	}{
		{"none: the daemon's default", nil, amd64, ""},
		{"the daemon's own platform alone: as if none were named", []string{"linux/amd64"}, amd64, ""},
		{"the daemon's, normalized", []string{"linux/arm64"}, arm64, ""},
		{"another platform", []string{"darwin/arm64"}, amd64, "darwin/arm64"},
		{"the daemon's among others", []string{"linux/amd64", "darwin/arm64"}, amd64, "linux/amd64,darwin/arm64"},
		{"a daemon that reports no platform", []string{"linux/amd64"}, ocispecs.Platform{}, "linux/amd64"},
	}
	for _, tt := range tests {
		if got := platformAttr(tt.platforms, tt.daemon); got != tt.want {
			t.Errorf("%s: platformAttr(%q, %v) = %q, want %q", tt.name, tt.platforms, tt.daemon, got, tt.want)
		}
	}
}

func TestIsPlatformUnavailable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&BuildError{Target: "server", Err: errors.New(`golang:1.26-alpine: failed to resolve source metadata for docker.io/library/golang:1.26-alpine: no match for platform in manifest: not found`)}, true},
		{&BuildError{Target: "server", Step: "[build 3/3] RUN go build", Logs: "exec /bin/sh: exec format error\n",
			Err: errors.New(`process "/bin/sh -c go build" did not complete successfully: exit code: 255`)}, true},
		{&BuildError{Target: "server", Err: errors.New(`process "/bin/sh -c go build" did not complete successfully: exit code: 1`), Logs: "./main.go:3:1: syntax error"}, false},
		{errors.New("no match for platform in manifest"), false}, // not a build's failure
	}
	for _, tt := range tests {
		if got := IsPlatformUnavailable(tt.err); got != tt.want {
			t.Errorf("IsPlatformUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
