package rebuild

import "golang.org/x/mod/semver"

// minBuiltinVersion is the oldest daemon whose built-in Dockerfile frontend devloop lets
// stand in for docker/dockerfile:1: BuildKit v0.20 ships Dockerfile frontend 1.14, which
// has every stable 1.x instruction and flag a Dockerfile written today uses (heredocs,
// COPY --link/--parents/--exclude, RUN --mount/--network/--security, ADD --checksum).
const minBuiltinVersion = "v0.20"

// BuiltinCovers reports whether a daemon of BuildKit version daemonVersion can run the
// Dockerfile with its built-in frontend instead of the frontend image syntax names. Only
// the floating stable channel qualifies (docker/dockerfile:1, or no tag): its meaning is
// "the current stable 1.x", which a recent daemon's built-in frontend is. A pinned
// minor (docker/dockerfile:1.7), a digest, labs or any other image is a deliberate
// choice and is run as written; so is every daemon whose version cannot be told.
func BuiltinCovers(syntax, daemonVersion string) bool {
	return StableChannel(syntax) && builtinNewEnough(daemonVersion)
}

// StableChannel reports whether syntax names the floating stable channel of the
// Dockerfile frontend (docker/dockerfile:1, or no tag), the only frontend image the
// built-in frontend may stand in for.
func StableChannel(syntax string) bool {
	switch ref, _ := normalizeRef(syntax); ref { // "" for a digest or an invalid ref
	case "docker.io/docker/dockerfile:1", "docker.io/docker/dockerfile:latest":
		return true
	}
	return false
}

// builtinNewEnough reports whether a daemon of BuildKit version daemonVersion has a
// built-in frontend that covers the stable channel. The release line (major.minor)
// decides: v0.21.0-rc1 is of the 0.21 line. A development build (v0.0.0+unknown)
// cannot be told.
func builtinNewEnough(daemonVersion string) bool {
	line := releaseLine(daemonVersion)
	return line != "" && semver.Compare(line, minBuiltinVersion) >= 0
}
