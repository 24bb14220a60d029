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
// Progress under [PolicyRestart]: a change supersedes the running job only while the
// oldest change that job covers ([Change.First]) has waited less than the cancel
// window, max([Options.MaxWait], the duration of the last solve phase that ran to its
// end); the initial build covers no change and can always be superseded. Once the
// window has passed, the job runs to its end and newer changes are queued as one
// follow-up. A save during a build therefore still cancels it (the window is at least
// one solve long, so slow builds are cancelled as before), but a steady stream of
// changes cannot cancel jobs forever. With the watcher releasing every change at most
// max_wait after it happened, every change is in a finished job (committed or failed)
// at most window + 2 × (one job: solve, commit, restart) after it happened: jobs that
// cover it can only be superseded until it is one window old, then at most the job
// running at that time and its own pass. With 2.5 s solves and a file rewritten every
// 10 ms or 150 ms, the loop's virtual-time tests measure 3.8–3.9 s on average and
// 5.1 s at worst (bound 7.7 s); before this rule such a stream cancelled every job.
//
// The package imports no other devloop package; it declares the small interfaces it
// needs ([Builder], [Staged], [Restarter]) and reports progress as typed [Event]s.
package loop
