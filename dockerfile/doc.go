// Package dockerfile reads Dockerfiles the way BuildKit's Dockerfile frontend does,
// for what devloop decides before and after a build: which stages there are, what
// each RUN runs and sees of the build context, which images a build pulls, and where
// the messages of a failed step point on the host.
//
// The source of facts is the Dockerfile alone, parsed with BuildKit's own parser,
// instructions and word-expansion packages (frontend/dockerfile/parser, instructions,
// shell), plus, where a mapping needs it, which paths exist under the build context on
// the host. Build args passed to a build are not known here: ARG defaults are. The
// package talks to no daemon and imports no other devloop package but internal/ospath.
//
// Shapes:
//   - [Cache] reads a Dockerfile and parses each content (by SHA-256) once;
//     [Parse] parses without caching. A [*Dockerfile] is immutable and shared.
//   - [Dockerfile.Stages] lists the FROMs; [Dockerfile.Lookup] is the one stage
//     lookup, by the rules of where the reference is written ([RefKind]);
//     [Dockerfile.TargetStage] resolves a devloop target's stage (a name,
//     "stage-N", or left out: the stage named like the target, else the last) to
//     the stage and to what BuildKit's frontend is sent as its target.
//   - [Dockerfile.StageTree] is what a stage's filesystem holds and where each file
//     was made, through COPY --from ([Produced] says what RUNs make: a language's
//     analysis); [Dockerfile.Config] its ENTRYPOINT, CMD, EXPOSE and WORKDIR.
//   - [WalkRun] is the one walker of the shell commands a RUN runs
//     (mvdan.cc/sh/v3/syntax), [View] what a RUN sees of the build context.
//   - [Dockerfile.Locate] and [DescribeFailure] map a failed step's output to host
//     files (container paths are absolute and slash-separated; host paths absolute);
//     [Dockerfile.StepAsWritten] names a failed step of an edited Dockerfile (a dev
//     build) as the file it was made of writes it.
//   - [Cache.Check] checks targets' stages ([TargetRef]); [Dockerfile.ImageRefs] and
//     [Cache.Syntax] name the images a solve pulls, for pinning.
//   - [Dockerfile.WithImages] analyses the stages again starting from their base
//     images' configs ([Image]: environment, USER, WORKDIR; [Dockerfile.BaseImages]
//     names them), which the caller looks up.
//   - For edits that keep every instruction on its line: [Dockerfile.Source] is the
//     content parsed (byte offsets), [Dockerfile.AfterKeyword] where a flag joins an
//     instruction, [Dockerfile.CmdLineSpan] where a word of a RUN's command line
//     ([Word.Start], [Word.End]) is written; [View.Fills] says what may put files at
//     a container path.
//
// Errors: reading fails with "read Dockerfile: <*fs.PathError>", parsing with
// "parse Dockerfile <path>[:<line>]: <BuildKit's message>"; stage problems are
// [*StageError]s. Analyses that cannot follow something say so (Facts.Unknown, Why
// fields) rather than guess.
//
// Language-specific rules and inference live in subpackages (golang).
package dockerfile
