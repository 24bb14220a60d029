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
// The build context a solve sends: the context directory less [Request.Excludes] and
// what [Request.Skip] leaves out; narrowed, when [Request.Only] is set, to the
// [Subset] the build reads (directories, trees and directories that must exist,
// slash-separated and relative to the context; relative symlinks bring their targets
// in; .dockerignore is always sent), which the daemon keeps apart per target (the
// [SharedKey] of the context and the target); walked from memory when
// [Request.Stats] is set: a [StatCache] keeps each directory's entries and fsutil
// stats while a [DirVersions] (the file watcher) vouches the directory is unchanged,
// and reads again only the others.
//
// Platforms: [Request.Platforms] (normalized "os/arch[/variant]", as config parses
// them) is the frontend's platform attribute; several export one subdirectory of
// Dest each ([PlatformDir]); [Client.Platform] is the daemon's default platform, and
// [IsPlatformUnavailable] tells a failed step that needed an image or a program of
// another platform.
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
