// Package loop is devloop's orchestrator: the state machine between the debounced
// change stream and the builder, exporter and process supervisor.
//
// One goroutine (the one calling [Loop.Run]) owns the state — idle, building, or
// building with changes pending. A build job runs in three phases:
//
//  1. solve every affected target concurrently (one target failing does not cancel
//     the others); this phase is cancelled when newer changes supersede the job
//     under [PolicyRestart];
//  2. commit each successful target's staged output into place, in target order, and
//     discard everything else; a superseded job commits nothing;
//  3. restart the processes of run: targets whose binaries changed (or that have never
//     been started).
//
// Phases 2 and 3 are only interrupted by shutdown: a change arriving then is queued.
// A change is never dropped: it either supersedes the running job or is merged into
// exactly one follow-up job, so the last job always starts after the last change and
// its outputs reflect the final source tree.
//
// The package imports no other devloop package; it declares the small interfaces it
// needs ([Builder], [Staged], [Restarter]) and reports progress as typed [Event]s.
package loop
