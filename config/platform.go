package config

import (
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// PlatformLocal is the platform value that names the machine devloop runs on, as
// buildx's `--platform local` names the client's platform.
const PlatformLocal = "local"

// platformSyntax is what a platform value may be, for error messages.
const platformSyntax = `want OS/ARCH[/VARIANT] as for docker build --platform (linux/amd64, linux/arm64, linux/arm/v7, darwin/arm64, windows/amd64) or "local"`

// LocalPlatform is the platform devloop runs on, normalized and formatted as
// [ParsePlatforms] returns platforms: the OS and architecture devloop was built for
// and, on ARM, the CPU variant it runs on (containerd's platforms.DefaultSpec).
func LocalPlatform() string {
	return platforms.Format(platforms.Normalize(ocispecs.Platform{
		OS: runtime.GOOS, Architecture: runtime.GOARCH, Variant: platforms.DefaultSpec().Variant,
	}))
}

// ParsePlatforms parses platform values in the syntax of `docker build --platform`,
// each one platform or a comma-separated list of them, with containerd's platforms
// package (the parser BuildKit and buildx use): "linux/amd64", "linux/arm/v7",
// "darwin/arm64", "windows/amd64", or [PlatformLocal]. It returns them normalized
// ("linux/arm" is "linux/arm/v7", "linux/arm64/v8" is "linux/arm64", "local" the
// [LocalPlatform]) and formatted, without repeats, in the order given. An OS or
// architecture containerd does not know is an error, as is an empty value.
func ParsePlatforms(values ...string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			p, err := parsePlatform(strings.TrimSpace(s))
			if err != nil {
				return nil, err
			}
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// parsePlatform parses one platform.
func parsePlatform(s string) (string, error) {
	if strings.EqualFold(s, PlatformLocal) {
		return LocalPlatform(), nil
	}
	if s == "" {
		return "", fmt.Errorf("empty platform; %s", platformSyntax)
	}
	p, err := platforms.Parse(s)
	if err != nil {
		return "", fmt.Errorf("invalid platform %q: %s", s, platformSyntax)
	}
	p = platforms.Normalize(p)
	// containerd takes any OS and architecture in an OS/ARCH pair; alone, each must
	// be one it knows (an OS is then completed with this machine's architecture).
	if q, err := platforms.Parse(p.OS); err != nil || q.OS != p.OS {
		return "", fmt.Errorf("invalid platform %q: unknown operating system %q; %s", s, p.OS, platformSyntax)
	}
	if q, err := platforms.Parse(p.Architecture); err != nil || q.Architecture != p.Architecture {
		return "", fmt.Errorf("invalid platform %q: unknown architecture %q; %s", s, p.Architecture, platformSyntax)
	}
	return platforms.Format(p), nil
}

// RunPlatform is the platform whose files the target's run: process starts from: the
// local platform when the target is built for it, else its first platform; "" when the
// target builds for the daemon's default platform.
func (t *Target) RunPlatform() string {
	if len(t.Platforms) == 0 {
		return ""
	}
	if local := LocalPlatform(); slices.Contains(t.Platforms, local) {
		return local
	}
	return t.Platforms[0]
}

// MultiPlatform reports whether the target is built for several platforms: the
// export then holds one subdirectory per platform.
func (t *Target) MultiPlatform() bool { return len(t.Platforms) > 1 }

// OverridePlatforms makes every target build for platforms (normalized by
// [ParsePlatforms]), as the --platform flag of devloop build and up does over the
// platform keys of devloop.yaml and their defaults. Nil or empty changes nothing.
func (c *Config) OverridePlatforms(platforms []string) {
	if len(platforms) == 0 {
		return
	}
	c.Platforms = slices.Clone(platforms)
	for _, t := range c.Targets {
		t.Platforms = slices.Clone(platforms)
	}
}
