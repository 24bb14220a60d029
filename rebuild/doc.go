// Package rebuild talks to a BuildKit daemon: it connects (and checks that the daemon
// answers before any build), solves Dockerfile targets with the dockerfile.v0 frontend,
// exports each result with BuildKit's local exporter into a directory the caller
// provides (a staging directory), shows progress with BuildKit's own progressui, and
// turns a failed solve into a [BuildError] that carries the failing step's output.
// A request may give the Dockerfile's content ([Request.DockerfileSource], such as a
// dev build of it): it is served to the frontend as its "dockerfile" input, next to
// the file's own <name>.dockerignore, and the file is not read. [Client.ImageConfigs]
// reads base images' configs (environment, user, working directory).
//
// Solves go through a [Solver]: [*Client] is one, and wrappers stack on it the way ko
// stacks builders, each setting a field of the [Request] on the way —
// [WithBuiltinFrontend] (the daemon's built-in Dockerfile frontend instead of the
// `# syntax=` image when it covers it; the daemon's version asked once) over
// [WithPins] (image digests resolved once per session by a [Pinner]). What they need
// from the Dockerfile (its `# syntax=`, its images) the caller passes in as functions:
// reading the Dockerfile is package dockerfile's.
//
// The grammars of the values it uses are its own: [CheckAddress] for builder addresses
// and [CheckCacheSpec] for cache specs (buildctl's --import-cache/--export-cache
// parser, the type required); config checks devloop.yaml with them.
//
// It is the only devloop package that imports BuildKit's client; what devloop reads
// from the Dockerfile itself is package dockerfile's.
package rebuild
