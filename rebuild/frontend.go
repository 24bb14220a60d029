package rebuild

import (
	"strconv"
	"strings"
)

// minBuiltinVersion is the oldest daemon whose built-in Dockerfile frontend devloop lets
// stand in for docker/dockerfile:1: BuildKit v0.20 ships Dockerfile frontend 1.14, which
// has every stable 1.x instruction and flag a Dockerfile written today uses (heredocs,
// COPY --link/--parents/--exclude, RUN --mount/--network/--security, ADD --checksum).
var minBuiltinVersion = [2]int{0, 20}

// BuiltinCovers reports whether a daemon of BuildKit version daemonVersion can run the
// Dockerfile with its built-in frontend instead of the frontend image syntax names. Only
// the floating stable channel qualifies (docker/dockerfile:1, or no tag): its meaning is
// "the current stable 1.x", which a recent daemon's built-in frontend is. A pinned
// minor (docker/dockerfile:1.7), a digest, labs or any other image is a deliberate
// choice and is run as written; so is every daemon whose version cannot be told.
func BuiltinCovers(syntax, daemonVersion string) bool {
	switch ref, _ := normalizeRef(syntax); ref { // "" for a digest or an invalid ref
	case "docker.io/docker/dockerfile:1", "docker.io/docker/dockerfile:latest":
	default:
		return false
	}
	v, ok := parseVersion(daemonVersion)
	return ok && (v[0] > minBuiltinVersion[0] || v[0] == minBuiltinVersion[0] && v[1] >= minBuiltinVersion[1])
}

// parseVersion reads the major and minor of a BuildKit version such as "v0.34.2" or
// "v0.21.0-rc1". A development build ("v0.0.0+unknown") does not count.
func parseVersion(s string) ([2]int, bool) {
	s = strings.TrimPrefix(s, "v")
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return [2]int{}, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || major == 0 && minor == 0 {
		return [2]int{}, false
	}
	return [2]int{major, minor}, true
}
