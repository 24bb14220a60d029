package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/supervisor"
	"github.com/devloop/devloop/watcher"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

func (a *app) upCommand() *cobra.Command {
	progress := "quiet"
	pin, onlyAffected := true, true
	cmd := &cobra.Command{
		Use:   "up [TARGET...]",
		Short: "Build, run and rebuild on every save until interrupted",
		Long: `Up builds every target (or the ones named), starts the processes configured under
run:, then watches the build context. On each save it rebuilds, swaps the fresh binaries
into place and restarts only the processes whose binary changed. A failed build keeps the
last good binaries and the running processes. Ctrl-C stops everything; a second Ctrl-C
kills at once.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if progress == "auto" || progress == "tty" {
				progress = "plain" // a redrawing display does not fit a long-running loop
			}
			return a.up(cmd.Context(), args, progress, pin, onlyAffected)
		},
	}
	cmd.Flags().StringVar(&progress, "progress", progress, "BuildKit progress output: quiet, plain, rawjson")
	cmd.Flags().BoolVar(&onlyAffected, "only-affected", onlyAffected, "rebuild only the targets a change can affect (Go targets: from go list -deps); false rebuilds every target on every change")
	cmd.Flags().BoolVar(&pin, "pin", pin, "resolve base images and the # syntax frontend once, then pin their digests for the session (--pin=false resolves them on every build)")
	return cmd
}

func (a *app) up(ctx context.Context, args []string, progress string, pin, onlyAffected bool) error {
	proj, closeProj, err := a.openProject(ctx, args, progress)
	if err != nil {
		return err
	}
	defer closeProj()
	cfg, targets, printer := proj.cfg, proj.selected, proj.printer
	policy, err := loop.ParsePolicy(cfg.Watch.OnBusy)
	if err != nil {
		return withCode(exitUsage, err)
	}

	// Files devloop itself writes (`devloop up > up.log`, --events FILE) must not look
	// like edits: each line written would otherwise start a build.
	for _, w := range []io.Writer{a.stdout, a.stderr} {
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
				if p, err := filepath.EvalSymlinks("/proc/self/fd/" + strconv.Itoa(int(f.Fd()))); err == nil {
					proj.outputs.add(p)
				}
			}
		}
	}
	if a.events != "" && a.events != "-" {
		if p, err := filepath.Abs(a.events); err == nil {
			proj.outputs.add(p)
		}
	}
	out := &lockedWriter{w: a.human()}
	proj.pin, proj.notices = pin, out
	status := newStatusPrinter(out, proj)
	ew, closeEvents, err := a.openEvents()
	if err != nil {
		return err
	}
	defer closeEvents()
	var stream *eventStream
	if ew != nil {
		stream = newEventStream(ew, proj)
	}
	inputs := newTargetInputs(cfg, targets, proj.client.Platform(), out, a.log)
	refresh := make(chan struct{}, 1)
	refresh <- struct{}{} // learn the inputs once at start
	var mu sync.Mutex     // loop and supervisor events arrive from different goroutines
	emit := func(ev loop.Event) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := ev.(loop.BuildFinished); ok {
			select { // imports may have changed: learn the inputs again, off the hot path
			case refresh <- struct{}{}:
			default:
			}
		}
		status.handle(ev)
		if stream != nil {
			stream.loopEvent(ev)
		}
	}
	sups, err := a.supervisors(filepath.Join(cfg.Dir, stateDirName), targets, out, func(ev supervisor.Event) {
		mu.Lock()
		defer mu.Unlock()
		printProcessEvent(out, ev)
		if stream != nil {
			stream.processEvent(ev)
		}
	})
	if err != nil {
		return withCode(exitUsage, err)
	}
	run := map[string]bool{}
	for _, t := range targets {
		run[t.Name] = t.Run != nil
	}
	var affects func(string, []string) bool
	if onlyAffected {
		affects = inputs.affects
	}
	l, err := loop.New(loop.Options{
		Affects: affects,
		Targets: proj.targetNames(), Run: run, Policy: policy, Builder: proj, Restarter: sups,
		Events: emit, Logger: a.log,
	})
	if err != nil {
		return err
	}
	w, err := watcher.New(watcher.Options{Rules: proj.rules, Logger: a.log})
	if err != nil {
		return err
	}

	raw := make(chan watcher.Event)
	filtered := make(chan watcher.Event)
	batches := make(chan watcher.Batch)
	changes := make(chan loop.Change)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return printer.Run(gctx) })
	g.Go(func() error { return w.Run(gctx, raw) })
	g.Go(func() error { return dropOwnWrites(gctx, proj, out, raw, filtered) })
	g.Go(func() error {
		return watcher.Debounce(gctx, cfg.Watch.Debounce, cfg.Watch.MaxWait, filtered, batches)
	})
	g.Go(func() error { return toChanges(gctx, batches, changes) })
	if onlyAffected {
		g.Go(func() error { return inputs.run(gctx, refresh) })
	}
	for _, s := range sups {
		g.Go(func() error { return s.Run(gctx) })
	}
	g.Go(func() error {
		err := l.Run(gctx, changes)
		printer.Close()
		return err
	})

	// A second interrupt while shutting down kills every process group at once.
	forced := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		forceKill(ctx, forced, sups)
	}()
	err = g.Wait()
	close(forced)
	wg.Wait()
	if err != nil && ctx.Err() == nil {
		return err
	}
	fmt.Fprintln(out, "[devloop] stopped")
	return nil
}

func forceKill(ctx context.Context, done <-chan struct{}, sups supervisors) {
	select {
	case <-ctx.Done():
	case <-done:
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case <-sig:
		for _, s := range sups {
			s.Kill()
		}
	case <-done:
	}
}

func (a *app) supervisors(stateDir string, targets []*config.Target, out io.Writer, events func(supervisor.Event)) (supervisors, error) {
	sups := supervisors{}
	width := 0
	for _, t := range targets {
		width = max(width, len(t.Name))
	}
	color := isTerminal(a.human())
	for _, t := range targets {
		if t.Run == nil {
			continue
		}
		sig, err := parseSignal(t.Run.StopSignal)
		if err != nil {
			return nil, fmt.Errorf("targets.%s.run.stop_signal: %w", t.Name, err)
		}
		env := make([]string, 0, len(t.Run.Env))
		for k, v := range t.Run.Env {
			env = append(env, k+"="+v)
		}
		s, err := supervisor.New(supervisor.Options{
			Name: t.Name, Command: t.Run.Command, Env: env, Dir: t.Run.Dir,
			StopSignal: sig, StopTimeout: t.Run.StopTimeout, Ready: t.Run.Ready,
			Stdout: out, Stderr: out, Color: color, PrefixWidth: width,
			Events: events, Logger: a.log,
			RunFile: filepath.Join(stateDir, "run", t.Name),
		})
		if err != nil {
			return nil, err
		}
		sups[t.Name] = s
	}
	return sups, nil
}

func printProcessEvent(w io.Writer, ev supervisor.Event) {
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
	case supervisor.EventLeftover:
		fmt.Fprintf(w, "%s: killed pid %d, left running by an earlier devloop up that did not stop cleanly\n", ev.Name, ev.PID)
	}
}

// dropOwnWrites removes devloop's own exported files from watcher events, and says
// when a file that shapes devloop itself changed.
func dropOwnWrites(ctx context.Context, proj *project, notices io.Writer, in <-chan watcher.Event, out chan<- watcher.Event) error {
	settings := map[string]string{}
	for _, abs := range alwaysWatched(proj.cfg) {
		if rel, err := filepath.Rel(proj.cfg.Context, abs); err == nil {
			settings[filepath.ToSlash(rel)] = abs
		}
	}
	for {
		var ev watcher.Event
		select {
		case <-ctx.Done():
			return nil
		case ev = <-in:
		}
		kept := ev.Paths[:0:0]
		for _, p := range ev.Paths {
			if abs, ok := settings[p]; ok && abs != proj.cfg.Dockerfile {
				fmt.Fprintf(notices, "[devloop] %s changed: restart devloop up to apply it to the watch rules\n", relToCwd(abs))
			}
			if !proj.isOutput(p) {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 && !ev.Overflow {
			continue
		}
		ev.Paths = kept
		select {
		case out <- ev:
		case <-ctx.Done():
			return nil
		}
	}
}

func toChanges(ctx context.Context, in <-chan watcher.Batch, out chan<- loop.Change) error {
	for {
		var b watcher.Batch
		select {
		case <-ctx.Done():
			return nil
		case b = <-in:
		}
		select {
		case out <- loop.Change{Paths: b.Paths, Overflow: b.Overflow, First: b.First, Last: b.Last}:
		case <-ctx.Done():
			return nil
		}
	}
}

// lockedWriter serialises writes from the loop and the supervisors' output prefixers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
