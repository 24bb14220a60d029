// Package supervisor runs, stops and restarts the process configured under a
// target's run: in devloop.yaml.
//
// One goroutine — the one calling [Supervisor.Run] — owns the process. [Supervisor.Restart]
// and [Supervisor.Kill] talk to it over channels, so they are safe from any goroutine.
// The process is started in its own process group; stopping it sends the stop signal
// to the whole group, waits up to the stop timeout, SIGKILLs the group, and only
// reports the process stopped once no live member of the group is left (grandchildren
// included) and its output has been drained. Members that outlive SIGKILL by 3s
// (stuck in uninterruptible sleep) are logged and no longer waited for; zombies count
// as gone, and those that are devloop's own children (when it is PID 1) are reaped.
//
// A process that exits on its own is restarted after an exponential backoff delay
// ([Backoff]), whatever its exit code; whatever it left running in its group is
// stopped first, as above. A Restart during the wait starts it at once and resets
// the delay.
// Each line the process writes is copied to the configured writers behind a
// "NAME | " prefix, and an optional readiness probe (http, https or tcp) reports when
// the process first answers after each start.
//
// On Linux the child gets Pdeathsig SIGKILL so that it dies if devloop is killed
// with SIGKILL. Pdeathsig fires when the OS thread that forked the child exits, so
// Run locks its goroutine to its OS thread for its whole lifetime and forks every
// child from it; the thread is returned to the runtime only after the last child is
// stopped. Pdeathsig reaches only the direct child, not its descendants.
//
// Only Unix is supported; on Windows [New] returns an error.
package supervisor
