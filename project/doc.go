// Package project is a loaded devloop.yaml at work: it puts the leaf packages
// together the way `devloop build` and `devloop up` use them, so that cmd/devloop only
// turns flags and config into options.
//
// Shapes:
//   - [Check] checks devloop.yaml's values against the file system and the Dockerfile
//     before anything connects (config.Errors at the values' positions) and warns
//     about missing Go cache mounts ([LintWarnings], which `devloop init` prints too).
//   - [Open] opens the project: an exporter per configured target (package
//     exporter; [Access] says whether it swaps and whether it holds the selected
//     targets for the session), the watch and context rules (package watcher), the
//     output registry (exporter.Outputs: every file devloop wrote, kept out of the
//     build context and the watch set) and the solver stack over the BuildKit client
//     (rebuild.WithBuiltinFrontend over rebuild.WithPins over the dev build over
//     *rebuild.Client; the dev build, dockerfile/golang.DevBuild, is the Dockerfile
//     source of the targets whose dev_transform is on).
//   - [Project.Build] is the loop's Builder (package loop): one solve into a staging
//     directory; its Commit swaps. [Project.Once] is `devloop build`. With
//     [Options.Narrow] a solve sends only the target's part of the context
//     (rebuild.Subset: what its go builds read, as godeps answered, or
//     targets.NAME.only), waiting at most a few seconds for the answer, else the
//     whole context; with [UpOptions.ContextCache] the context walk is served from a
//     rebuild.StatCache the watcher vouches for.
//   - [Project.Up] is `devloop up`: the watcher, the filter of devloop's own writes
//     (package feedback and the output registry), the debouncer, the reloader (edits
//     of devloop.yaml and the ignore file applied live, as config.Diff allows), the
//     loop, the supervisors (package supervisor) and the target inputs (which
//     targets a change can reach: dockerfile/golang says what each stage's go builds
//     compile, godeps asks go list and decides). Every goroutine runs in one errgroup
//     and ends with the context; every send also selects on it.
//   - [Project.DescribeFailure] maps a failed target's error to the failing step and
//     host file:line:col locations (dockerfile.DescribeFailure).
//   - Platforms (config.Target.Platforms, or Options.Platforms for --platform): the
//     solve builds for them (rebuild.Request.Platforms); [Project.WarnPlatforms] and
//     every Build say once what keeps the Dockerfile from cross-compiling for a
//     platform other than the daemon's (golang.CrossCompile); after the solve every
//     exported executable's header must be of the platform asked of its directory
//     (execfile.Check), else the build fails with a [*PlatformError] and nothing is
//     swapped; such failures, and a daemon that found no image or could not run a
//     program of the platform (rebuild.IsPlatformUnavailable), are described with the
//     Dockerfile lines to change; a target built for several platforms runs its run
//     platform's file; [Project.PlatformLabel] is what the status lines show; the
//     target inputs are learnt per platform (GOOS, GOARCH and the files their names
//     rule out).
//
// Output: what devloop says while it works ("[devloop] …" notices, reload lines, the
// processes' prefixed output) goes to the writers the options give; status lines
// and the event stream are the caller's, from the events Up and Once report.
//
// Errors: Open's and Check's are about devloop.yaml's values (config.Error with
// file:line:col) or a target another devloop up holds; Build's wrap
// loop.ErrUnavailable when the daemon cannot be reached, else the solve's
// (*rebuild.BuildError for a failed step) or the exporter's.
package project
