// Package report renders what devloop build and devloop up report: the loop's and
// the supervisors' events (packages loop and supervisor) as human status lines and
// as the NDJSON event stream.
//
// Shapes:
//   - [Status] writes the status lines: "[devloop] build started #N …" and
//     "[devloop] build ok|failed|cancelled #N in 1.31s" frame every build (a stable
//     interface for editors, docs/editors), one line per target in between
//     ("server: rebuilt in 1.31s (solve 1.02 · export 0.10 · swap 0.01) — updated
//     bin/server"; a target built for another platform than the daemon's is named
//     with it: "server (darwin/arm64): …"; past five paths they are counted, naming
//     the executables: "updated 1,800 files (3 executables: …)"), and, right before
//     the end line, one failure block per distinct failure, naming every target it
//     failed: the failing step and the error, the last lines of the step's output
//     (the whole output in StatusOptions.LogDir when some are left out), a hint,
//     then every location as path:line:col: message relative to the working
//     directory (what editors' problem matchers read). Durations are seconds with
//     two decimals.
//   - [NewLogCore] writes zap's log entries as devloop's human lines.
//   - [ProcessEvent] writes the human line of a supervisor event.
//   - [Stream] writes docs/events.md: one JSON object per line, {"v": [Version],
//     "type": …, "time": RFC 3339 UTC, …the event's fields}, durations in
//     nanoseconds (*_ns), a failed target's step and locations added.
//
// A [Describer] (*project.Project) maps a failed target's error to its step and host
// locations and says which platforms a target builds for; the package itself reads
// no file and knows no daemon (it writes the failure logs to the directory it is
// given). Writers are the
// caller's: Status is used by one goroutine at a time, Stream is safe for concurrent
// use. Neither reports its write errors (a closed terminal must not stop a build).
package report
