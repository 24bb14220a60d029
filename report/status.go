package report

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/devloop/devloop/loop"
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
	// per build: what each target did, printed when the build ends
	targets  map[string]loop.TargetFinished
	restarts map[string]loop.Restarted
	paths    []string
}

// NewStatus returns a Status writing to w; d describes failed targets (nil: only
// failures of an unreachable daemon are expected, which are said by their own line).
func NewStatus(w io.Writer, d Describer) *Status {
	return &Status{w: w, describe: d}
}

// Event writes what ev adds to the status lines; a target's line is written when its
// build ends. Calls must not overlap.
func (s *Status) Event(ev loop.Event) {
	switch e := ev.(type) {
	case loop.BuildStarted:
		s.targets = map[string]loop.TargetFinished{}
		s.restarts = map[string]loop.Restarted{}
		s.paths = e.Paths
		line := fmt.Sprintf("[devloop] build started #%d: %s", e.ID, strings.Join(e.Targets, ", "))
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
			printFailure(s.w, e.Target, s.describe.DescribeFailure(e.Err))
		}
	case loop.Restarted:
		s.restarts[e.Target] = e
		if e.Err != nil {
			fmt.Fprintf(s.w, "%s: restart failed: %v\n", e.Target, e.Err)
		}
	case loop.BuildSuperseded:
		// The matching "cancelled" end line comes with BuildFinished.
	case loop.BuildFinished:
		for _, name := range e.Targets {
			if t, ok := s.targets[name]; ok && t.OK {
				fmt.Fprintln(s.w, s.targetLine(e, t))
			}
		}
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
		tail = " — updated " + strings.Join(t.Changed, ", ")
	default:
		verb = "unchanged"
		tail = " — " + strings.Join(t.Unchanged, ", ") + " already up to date"
	}
	if len(t.Removed) > 0 {
		tail += "; removed " + strings.Join(t.Removed, ", ")
	}
	return fmt.Sprintf("%s: %s in %s (%s)%s", t.Target, verb, secs(total), strings.Join(phases, " · "), tail)
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
			fmt.Fprintf(w, "%s: start failed: %v; retrying in %s\n", ev.Name, ev.Err, secs(ev.Delay))
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
