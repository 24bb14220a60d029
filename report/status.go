package report

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/project"
	"github.com/devloop/devloop/supervisor"
)

// Status turns loop events into devloop's human status lines. Two lines frame every
// build and are a stable interface for editors (see docs/editors):
//
//	[devloop] build started #N …
//	[devloop] build ok #N in 1.31s      (or: failed, cancelled)
type Status struct {
	w        io.Writer
	describe Describer
	opts     StatusOptions
	// per build: what each target did, printed when the build ends
	targets  map[string]loop.TargetFinished
	restarts map[string]loop.Restarted
	paths    []string
	failures []*failure // distinct failures, in the order they came
}

// StatusOptions configures a [Status].
type StatusOptions struct {
	// LogDir, if set, is the absolute directory where the whole output of a failed
	// step goes when its failure block shows only its end (more than MaxLogLines
	// lines): <LogDir>/<target>.log, replaced by the target's next such failure.
	LogDir string
	// MaxLogLines caps the output lines without a location a failure block shows
	// (the last ones); 0 means 20. Located lines (path:line:col) are always shown.
	MaxLogLines int
}

// NewStatus returns a Status writing to w; d describes failed targets (nil: only
// failures of an unreachable daemon are expected, which are said by their own line).
func NewStatus(w io.Writer, d Describer, opts StatusOptions) *Status {
	if opts.MaxLogLines <= 0 {
		opts.MaxLogLines = 20
	}
	return &Status{w: w, describe: d, opts: opts}
}

// failure is one distinct failure of a build and the targets it failed.
type failure struct {
	targets []string
	f       project.Failure
}

// Event writes what ev adds to the status lines; a target's line is written when its
// build ends. Calls must not overlap.
func (s *Status) Event(ev loop.Event) {
	switch e := ev.(type) {
	case loop.BuildStarted:
		s.targets = map[string]loop.TargetFinished{}
		s.restarts = map[string]loop.Restarted{}
		s.failures = nil
		s.paths = e.Paths
		names := make([]string, len(e.Targets))
		for i, t := range e.Targets {
			names[i] = s.name(t)
		}
		line := fmt.Sprintf("[devloop] build started #%d: %s", e.ID, strings.Join(names, ", "))
		if len(e.Skipped) > 0 {
			line += " (not affected: " + strings.Join(e.Skipped, ", ") + ")"
		}
		if len(e.Paths) > 0 {
			line += " — " + changedSummary(e.Paths)
		}
		fmt.Fprintln(s.w, line)
	case loop.TargetFinished:
		s.targets[e.Target] = e
		if !e.OK && !errors.Is(e.Err, loop.ErrUnavailable) { // that is said by the builder_unavailable line
			s.addFailure(e.Target, s.describe.DescribeFailure(e.Err))
		}
	case loop.Restarted:
		s.restarts[e.Target] = e
		// A restart interrupted by shutdown (Ctrl-C) did not fail: devloop is stopping it.
		if e.Err != nil && !errors.Is(e.Err, context.Canceled) {
			fmt.Fprintf(s.w, "%s: restart failed: %s\n", e.Target, processError(e.Err))
		}
	case loop.BuildSuperseded:
		// The matching "cancelled" end line comes with BuildFinished.
	case loop.BuildFinished:
		for _, name := range e.Targets {
			if t, ok := s.targets[name]; ok && t.OK {
				fmt.Fprintln(s.w, s.targetLine(e, t))
			}
		}
		// Failures last, next to the end line: one block per distinct failure, naming
		// every target it failed (a step several targets share fails them all).
		for _, f := range s.failures {
			s.printFailure(f)
		}
		s.failures = nil
		verdict := "ok"
		switch {
		case e.Superseded || e.Canceled:
			verdict = "cancelled"
		case !e.OK:
			verdict = "failed"
		}
		line := fmt.Sprintf("[devloop] build %s #%d in %s", verdict, e.ID, secs(e.Duration))
		if len(e.Failed) > 0 {
			line += " (failed: " + strings.Join(e.Failed, ", ") + ")"
		}
		if e.Superseded {
			line += " (superseded by newer changes)"
		}
		fmt.Fprintln(s.w, line)
	case loop.BuilderUnavailable:
		// The whole error, with its hints on starting a daemon, once per outage.
		if e.Attempt <= 1 {
			fmt.Fprintf(s.w, "[devloop] builder unavailable, retrying in %s: %v\n", secs(e.RetryIn), e.Err)
			break
		}
		msg, _, _ := strings.Cut(e.Err.Error(), "\n")
		fmt.Fprintf(s.w, "[devloop] builder still unavailable (attempt %d), retrying in %s: %s\n", e.Attempt, secs(e.RetryIn), msg)
	case loop.Skipped:
		fmt.Fprintf(s.w, "[devloop] no target depends on %s\n", changedSummary(e.Paths))
	}
}

// targetLine is the one status line per target and reload, e.g.
//
//	server: rebuilt in 1.31s (wait 0.05 · solve 1.02 · export 0.10 · swap 0.01 · restart 0.13) — updated bin/server
func (s *Status) targetLine(b loop.BuildFinished, t loop.TargetFinished) string {
	r, restarted := s.restarts[t.Target]
	total := b.Wait + t.Solve + t.Export + t.Swap
	phases := []string{}
	if b.Wait > 0 {
		phases = append(phases, "wait "+num(b.Wait))
	}
	phases = append(phases, "solve "+num(t.Solve), "export "+num(t.Export), "swap "+num(t.Swap))
	if restarted {
		phases = append(phases, "restart "+num(r.Duration))
		total += r.Duration
	}
	verb := "rebuilt"
	tail := ""
	switch {
	case len(t.Changed) > 0:
		tail = " — updated " + pathSummary(t.Changed, t.Executables)
	default:
		verb = "unchanged"
		tail = " — " + pathSummary(t.Unchanged, nil) + " already up to date"
	}
	if len(t.Removed) > 0 {
		tail += "; removed " + pathSummary(t.Removed, nil)
	}
	return fmt.Sprintf("%s: %s in %s (%s)%s", s.name(t.Target), verb, secs(total), strings.Join(phases, " · "), tail)
}

// name is how the status lines name a target: with the platforms it builds for when
// they are not the daemon's own, "server (darwin/arm64)".
func (s *Status) name(target string) string {
	if s.describe == nil {
		return target
	}
	if label := s.describe.PlatformLabel(target); label != "" {
		return target + " (" + label + ")"
	}
	return target
}

// processError is a process's failed start as the status lines say it: a binary that
// cannot run on this machine gets the fix.
func processError(err error) string {
	var fe *supervisor.ExecFormatError
	if errors.As(err, &fe) {
		return err.Error() + ": build the target for this machine (platform: local in devloop.yaml, the default for a target with run:)"
	}
	return err.Error()
}

// listedPaths is how many paths a target line lists by name; more are counted.
const listedPaths = 5

// pathSummary names the exported paths of a target line, or counts them when there
// are more than listedPaths, naming the executables among them (an export of a
// whole tree can hold thousands of files):
//
//	bin/client, bin/server
//	1,800 files (3 executables: bin/a, bin/b, bin/c)
func pathSummary(paths, executables []string) string {
	if len(paths) <= listedPaths {
		return strings.Join(paths, ", ")
	}
	s := count(len(paths), "file")
	switch n := len(executables); {
	case n == 0:
	case n <= listedPaths:
		s += fmt.Sprintf(" (%s: %s)", count(n, "executable"), strings.Join(executables, ", "))
	default:
		s += fmt.Sprintf(" (%s: %s and %s more)", count(n, "executable"), strings.Join(executables[:listedPaths], ", "), thousands(n-listedPaths))
	}
	return s
}

// count is "1 file", "1,800 files".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}

// thousands writes n with a comma between groups of three digits: 1,800.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func changedSummary(paths []string) string {
	const show = 5
	list := paths
	more := ""
	if len(list) > show {
		list = list[:show]
		more = fmt.Sprintf(" and %d more", len(paths)-show)
	}
	return fmt.Sprintf("%d changed: %s%s", len(paths), strings.Join(list, ", "), more)
}

func secs(d time.Duration) string { return num(d) + "s" }

func num(d time.Duration) string { return fmt.Sprintf("%.2f", d.Seconds()) }

// ProcessEvent writes the human line of a supervisor event.
func ProcessEvent(w io.Writer, ev supervisor.Event) {
	switch ev.Kind {
	case supervisor.EventStarted:
		fmt.Fprintf(w, "%s: started (pid %d)\n", ev.Name, ev.PID)
	case supervisor.EventReady:
		fmt.Fprintf(w, "%s: ready (pid %d)\n", ev.Name, ev.PID)
	case supervisor.EventExited:
		if ev.Signal != "" {
			fmt.Fprintf(w, "%s: exited (pid %d, %s)\n", ev.Name, ev.PID, ev.Signal)
		} else {
			fmt.Fprintf(w, "%s: exited (pid %d, exit code %d)\n", ev.Name, ev.PID, ev.ExitCode)
		}
	case supervisor.EventRestarting:
		if ev.Err != nil {
			fmt.Fprintf(w, "%s: start failed: %s; retrying in %s\n", ev.Name, processError(ev.Err), secs(ev.Delay))
		} else {
			fmt.Fprintf(w, "%s: restarting in %s\n", ev.Name, secs(ev.Delay))
		}
	case supervisor.EventStopped:
		fmt.Fprintf(w, "%s: stopped (pid %d)\n", ev.Name, ev.PID)
	case supervisor.EventStopTimeout:
		fmt.Fprintf(w, "%s: did not stop within %s of %s (stop_timeout): sending SIGKILL to pid %d and what it started\n", ev.Name, ev.Delay, ev.Signal, ev.PID)
	case supervisor.EventPortInUse:
		holder := "another process (devloop cannot tell which)"
		switch {
		case ev.HolderPID > 0 && ev.HolderCommand != "":
			holder = fmt.Sprintf("pid %d (%s)", ev.HolderPID, ev.HolderCommand)
		case ev.HolderPID > 0:
			holder = fmt.Sprintf("pid %d", ev.HolderPID)
		}
		fmt.Fprintf(w, "%s: port %d (ready: %s) is already in use by %s; %s cannot bind it and is not reported ready while that process answers\n",
			ev.Name, ev.Port, ev.Ready, holder, ev.Name)
	case supervisor.EventLeftover:
		fmt.Fprintf(w, "%s: killed pid %d, left running by an earlier devloop up that did not stop cleanly\n", ev.Name, ev.PID)
	}
}
