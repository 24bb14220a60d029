package rebuild

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"golang.org/x/mod/semver"
)

// ErrNoInfo says that the daemon answered but has no Info call, which came with
// BuildKit v0.11 (Docker Engine 23): it runs an older BuildKit and cannot tell which.
// Docker Engine 20.10 embeds BuildKit v0.8.
var ErrNoInfo = errors.New("BuildKit older than v0.11 (the daemon has no Info call)")

// minPinVersion is the oldest daemon that devloop's pins protect. BuildKit takes a
// source policy with the solve since v0.11 (SolveRequest.SourcePolicy, the LLB
// capability "source.policy"; docs/build-repro.md: "supported since BuildKit v0.11"),
// but in v0.11 the Dockerfile frontend's image lookups (ResolveImageConfig, the
// "load metadata for" step) do not go through the policy: FROM images are still
// resolved from the registry on every build, which is what pinning is for. Since v0.12
// the lookup evaluates the policy first (llbsolver's bridge converts the reference
// before resolving it). Older daemons ignore the policy field: BuildKit v0.8 drops it
// without a word, and the pins would be a lie.
const minPinVersion = "v0.12"

// ErrPinsIgnored says that the daemon does not apply devloop's pins (a source policy)
// to the images the Dockerfile frontend looks up: builds on it resolve their base
// images from the registry every time, and need it. [*PinsIgnoredError] is one.
var ErrPinsIgnored = errors.New("the builder does not apply source policies to the images a Dockerfile names")

// PinsIgnoredError says which daemon would not apply pins and why.
type PinsIgnoredError struct {
	Address string // the builder, as [Client.Address] shows it
	Reason  string // e.g. "BuildKit older than v0.11 (…) ignores source policies (…)"
	Err     error  // what the reason rests on ([ErrNoInfo]), if anything
}

func (e *PinsIgnoredError) Error() string {
	return fmt.Sprintf("pin base images at %s: %s", e.Address, e.Reason)
}

// Is makes every PinsIgnoredError an [ErrPinsIgnored].
func (e *PinsIgnoredError) Is(target error) bool { return target == ErrPinsIgnored }

func (e *PinsIgnoredError) Unwrap() error { return e.Err }

// PinSupport says whether the daemon at addr applies devloop's pins to the images a
// Dockerfile names, from what [Client.DaemonVersion] returned: nil when it does, or
// when its answer does not tell (a development build, or an error other than
// [ErrNoInfo]: the solve's capabilities decide then, see [Client.Resolve]), else a
// [*PinsIgnoredError].
func PinSupport(addr, version string, versionErr error) error {
	if errors.Is(versionErr, ErrNoInfo) {
		return &PinsIgnoredError{Address: addr, Err: ErrNoInfo,
			Reason: fmt.Sprintf("%v ignores the source policies that pin them (%s+ applies them)", ErrNoInfo, minPinVersion)}
	}
	line := releaseLine(version)
	if versionErr != nil || line == "" || semver.Compare(line, minPinVersion) >= 0 {
		return nil
	}
	return &PinsIgnoredError{Address: addr,
		Reason: fmt.Sprintf("BuildKit %s applies source policies to build steps but not to the Dockerfile frontend's image lookups (%s+ does)", version, minPinVersion)}
}

// releaseLine is the release line (vMAJOR.MINOR) of a BuildKit version such as
// "v0.34.2", "0.21.0-rc1" or "v0.11.6+0a15675913b7"; "" for a development build
// (v0.0.0+unknown) or a version that cannot be read.
func releaseLine(version string) string {
	line := semver.MajorMinor("v" + strings.TrimPrefix(version, "v"))
	if line == "v0.0" {
		return ""
	}
	return line
}

// BuilderKind names the kind of builder an address (as [Client.Address] shows it)
// reaches, for messages that say what a builder lacks.
func BuilderKind(addr string) string {
	scheme, _, _ := strings.Cut(addr, "://")
	switch scheme {
	case "docker":
		return "the Docker Engine's built-in BuildKit"
	case "docker-container":
		return "a BuildKit container"
	case "kube-pod":
		return "a BuildKit pod"
	default:
		return "buildkitd"
	}
}

// UnsupportedError says that the builder lacks something the build asked for. Its
// message names the kind of builder and what to use instead.
type UnsupportedError struct {
	Address string // the builder, as [Client.Address] shows it
	What    string // what it lacks, e.g. `the "registry" cache exporter (cache.to)`
	Instead string // what to use instead
	Err     error  // the daemon's error
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s (%s) has no %s: %v; %s", BuilderKind(e.Address), e.Address, e.What, e.Err, e.Instead)
}

func (e *UnsupportedError) Unwrap() error { return e.Err }

// reUnknownCacheExporter matches BuildKit's answer to a cache.to type it does not know
// (every version says it the same way since v0.8).
var reUnknownCacheExporter = regexp.MustCompile(`unknown cache exporter: "([^"]*)"`)

// explainUnsupported turns a solve's error about a missing feature into an
// [*UnsupportedError] for the builder at addr; any other error is returned as is.
func explainUnsupported(addr string, err error) error {
	m := reUnknownCacheExporter.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	e := &UnsupportedError{Address: addr, What: fmt.Sprintf("%q cache exporter (cache.to)", m[1]), Err: err}
	scheme, _, _ := strings.Cut(addr, "://")
	switch {
	case scheme == "docker":
		e.Instead = "use cache.to type=inline (the cache travels in an image you push; without the containerd image store " +
			"the Docker Engine exports no other kind), or build on a BuildKit container " +
			"(docker buildx create --driver docker-container --name NAME; builder.address: docker-container://buildx_buildkit_NAME0)"
	case m[1] == "inline":
		e.Instead = "upgrade the builder, or remove the entry"
	default:
		e.Instead = "check the type (registry, local, inline, gha, s3, azblob), use type=inline, which every BuildKit exports, or upgrade the builder"
	}
	return e
}
