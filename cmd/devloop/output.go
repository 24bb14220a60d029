package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/devloop/devloop/loop"
	"golang.org/x/term"
)

// statusPrinter turns loop events into devloop's human output. Two lines frame every
// build and are a stable interface for editors (see docs/editors):
//
//	[devloop] build started #N …
//	[devloop] build ok #N in 1.31s      (or: failed, cancelled)
type statusPrinter struct {
	w    io.Writer
	proj *project
	// per build: what each target did, printed when the build ends
	targets  map[string]loop.TargetFinished
	restarts map[string]loop.Restarted
	paths    []string
}

func newStatusPrinter(w io.Writer, proj *project) *statusPrinter {
	return &statusPrinter{w: w, proj: proj}
}

func (s *statusPrinter) handle(ev loop.Event) {
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
			s.printFailure(e)
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
func (s *statusPrinter) targetLine(b loop.BuildFinished, t loop.TargetFinished) string {
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

// printFailure prints a failed target with host-path error locations.
func (s *statusPrinter) printFailure(t loop.TargetFinished) {
	s.proj.describeFailure(t.Err).print(s.w, t.Target)
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

// isTerminal reports whether w is a terminal (colours and redrawing displays only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
