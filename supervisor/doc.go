// Package supervisor runs, stops and restarts the process configured under a
// target's run: in devloop.yaml.
//
// One goroutine — the one calling [Supervisor.Run] — owns the process. [Supervisor.Restart]
// and [Supervisor.Kill] talk to it over channels, so they are safe from any goroutine.
//
// # Stopping: nothing of a run is left
//
// The process is started in its own process group, and every process it starts
// carries the run's id in its environment ([RunIDEnv], inherited by children).
// Stopping it — for a restart, after it exited on its own, or at shutdown — sends
// the stop signal to the whole group and to every process of the run that left the
// group (a child that called setsid, a daemon that double-forked: found by the run
// id in /proc/PID/environ), waits up to the stop timeout, then SIGKILLs them all
// ([EventStopTimeout]), and only reports the process stopped, or starts the next
// one, once no live member of the group and no such stray is left (grandchildren
// included) and its output has been drained. A stray counts until it is a zombie or
// gone: an exiting process loses its environment before it closes its files, a
// listening socket among them. Processes that outlive SIGKILL by 3s (stuck in
// uninterruptible sleep) are logged and no longer waited for; zombies count as gone,
// and those that are devloop's own children (when it is PID 1) are reaped.
//
// Limits: a process that clears its environment (env -i, or one started by another
// service such as a container runtime) cannot be told apart from any other. Strays
// are found through /proc, so on other systems than Linux a process that left the
// group survives a stop (and a restart then fails to bind its port: see below).
//
// A process that exits on its own is restarted after an exponential backoff delay
// ([Backoff]), whatever its exit code; whatever it left running is stopped first, as
// above. A Restart during the wait starts it at once and resets the delay.
// Each line the process writes is copied to the configured writers behind a
// "NAME | " prefix, coloured when asked unless $NO_COLOR is set.
//
// The grammars of the values this package uses are its own: [ParseSignal] for stop
// signals (names only, through github.com/moby/sys/signal) and [CheckReady] for ready
// URLs; config checks devloop.yaml with them.
//
// # Ready: an answer from this start's own process
//
// An optional readiness probe (http, https or tcp) reports [EventReady] when the
// process first answers after each start. An answer counts only when it comes from
// this run: on Linux the listening socket that took the probe's connection (found by
// a LISTEN-only sock_diag dump, or /proc/net/tcp{,6}) must be held by a process in
// the group or carrying the run id (/proc/PID/fd). When its holder cannot be found
// (another platform, another user's process, a socket in another network namespace)
// the answer counts only if the port was free when the process started, or has
// refused a connection since. In every case the started process must still be alive
// when the answer is reported: one that answered and exited is not ready.
//
// Before each start with a probe, the supervisor connects to the ready address; when
// something already answers there it reports [EventPortInUse] with the holder's pid
// and command line if it can find them, once per holder, and starts the process
// anyway: the process's own "address already in use" error is what the user knows
// best, a process may legitimately share the port (SO_REUSEPORT, another interface),
// and waiting would hide the fresh binary behind a condition only the user can
// clear. Once the holder lets the port go, the next crash-restart (at most the
// backoff's Max later) binds it and is reported ready.
//
// On Linux the child gets Pdeathsig SIGKILL so that it dies if devloop is killed
// with SIGKILL. Pdeathsig fires when the OS thread that forked the child exits, so
// Run locks its goroutine to its OS thread for its whole lifetime and forks every
// child from it; the thread is returned to the runtime only after the last child is
// stopped. Pdeathsig reaches only the direct child, not its descendants: the next
// Run with the same [Options.RunFile] kills what carries the earlier run's id.
//
// # The program
//
// A program path (Command[0] with a slash) is resolved against Dir at every start, so
// a binary swapped in by rename is picked up; on Windows it finds the file with one of
// PATHEXT's extensions, as exec.LookPath does (bin/server starts bin/server.exe). A
// start the kernel refuses as no executable for this machine (ENOEXEC: a binary built
// for another platform) fails with an [*ExecFormatError] naming what the binary is
// (Options.DescribeExecutable) and this machine's platform.
//
// Only Unix is supported; on Windows [New] returns an error.
package supervisor
