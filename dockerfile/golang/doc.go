// Package golang holds what devloop knows of Go builds in a Dockerfile: the rules
// that find RUN instructions which make rebuilds slow, the inference of what a
// stage's go build and go install commands compile, and the dev build that makes
// them fast without editing the file.
//
// Rules, named like BuildKit's Dockerfile linter (frontend/dockerfile/linter): [Lint]
// checks a Dockerfile, with its build context, against [RuleGoBuildCacheMount],
// [RuleGoBuildAll] and [RuleGoModCacheMount] and returns [Warning]s (line, stage,
// message, the --mount flag that fixes it, what to do), RUN by RUN in the order of
// the file, each judged by what the RUN sees of the context and where its modules
// are.
//
// Cross-compilation: [CrossCompile] checks a build for another platform than the
// builder's against [RuleGoCrossCompile] — the go builds of the target's stages must
// run on the builder's platform (FROM --platform=$BUILDPLATFORM) and compile for the
// target's (GOOS/GOARCH from TARGETOS/TARGETARCH, or tonistiigi/xx's xx-go) — and
// returns [Warning]s naming the FROM or RUN line and the lines to write.
//
// Inference: [InputsOf] says which build-context files building a stage reads — its
// go builds as [Build]s (host directory, package patterns, the flags and environment
// that select packages and files, go.mod and go.work on the host: the question for
// the host's go list, package godeps) and the other context paths its stages copy or
// read. Each target gets the go builds whose executables reach its files (their
// Build.Outputs, followed back through COPY --from and the commands that move
// files). What cannot be followed is an [*UnknownInputsError] naming the Dockerfile
// line and why; it never guesses. [Outputs] lists the executables each stage's go
// builds write, for [dockerfile.Dockerfile.StageTree].
//
// go build, go install and xx-go (tonistiigi/xx's cross-compiling wrapper) are
// followed with package directories, patterns, import paths and files (a shell
// wildcard is expanded against the context's files, as the shell in the container
// expanded it against the copies of them).
//
// Dev build: [DevBuild] returns the Dockerfile devloop builds instead of the one on
// disk — Go build and module cache mounts on every RUN of its Go stages at the
// directories they use, -a dropped from go build and go install, every instruction on
// its line — with the [Change]s it made and the stages it [Kept] as written, and
// why. It needs the build context (what a COPY may put where a cache would be
// mounted), the base images' configs where known, and the targets' stages (a cache
// two targets' builds share is locked).
//
// Source of facts: the Dockerfile as package dockerfile parses and walks it (its one
// stage lookup, its shell walker dockerfile.WalkRun, its View of the context), the
// build's build args and platform, and which paths exist under the context on the
// host. Paths in [Build] are absolute host paths; Reads are relative to the context,
// slash-separated.
package golang
