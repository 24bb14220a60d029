package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/feedback"
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
	proj, closeProj, err := a.openProject(ctx, args, progress, holdTargets)
	if err != nil {
		return err
	}
	defer closeProj()
	cfg, targets, printer := proj.cfg, proj.selected, proj.printer
	policy, err := loop.ParsePolicy(cfg.Watch.OnBusy)
	if err != nil {
		return withCode(exitUsage, err)
	}

	// Files devloop itself writes (`devloop up > up.log`, `| tee dev.log`, --events
	// FILE) must not look like edits: each line written would otherwise start a build.
	var outputs []*os.File
	for _, w := range []io.Writer{a.stdout, a.stderr} {
		if f, ok := w.(*os.File); ok {
			outputs = append(outputs, f)
		}
	}
	self := feedback.New(feedback.Options{Outputs: outputs, Logger: a.log})
	for _, p := range self.Sinks() {
		proj.outputs.add(p)
	}
	if a.events != "" && a.events != "-" {
		if p, err := filepath.Abs(a.events); err == nil {
			proj.outputs.add(p)
		}
	}
	out := &lockedWriter{w: self.Writer(a.human())}
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
	inputs := newTargetInputs(cfg, targets, proj.client.Platform(), proj.dockerfiles, out, a.log)
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
		if ev, ok := ev.(loop.BuildStarted); ok {
			ownEchoes(self, proj, out, ev.Paths)
		}
	}
	procEvents := func(ev supervisor.Event) {
		mu.Lock()
		defer mu.Unlock()
		printProcessEvent(out, ev)
		if stream != nil {
			stream.processEvent(ev)
		}
	}
	newSups := func(targets []*config.Target) (supervisors, error) {
		return a.supervisors(filepath.Join(cfg.Dir, stateDirName), targets, out, procEvents)
	}
	sups, err := newSups(targets)
	if err != nil {
		return withCode(exitUsage, err)
	}
	procs := newProcesses(sups, a.log)
	run := map[string]bool{}
	for _, t := range targets {
		run[t.Name] = t.Run != nil
	}
	w, err := watcher.New(watcher.Options{Rules: proj.rules, Logger: a.log})
	if err != nil {
		return err
	}
	rl := newReloader(a.file, reloaderOptions{
		proj: proj, watcher: w, procs: procs, newSups: newSups, out: out, log: a.log,
		inputs: inputs, onlyAffected: onlyAffected, refresh: refresh,
	})
	l, err := loop.New(loop.Options{
		Affects: rl.affects,
		Targets: proj.targetNames(), Run: run, Policy: policy, Builder: rl, Restarter: procs,
		Events: emit, Logger: a.log, MaxWait: cfg.Watch.MaxWait,
	})
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
	g.Go(func() error { return dropOwnWrites(gctx, proj, self, raw, filtered) })
	g.Go(func() error { return watcher.DebounceFunc(gctx, rl.debounceTiming, filtered, batches) })
	g.Go(func() error { return rl.changes(gctx, batches, changes) })
	if onlyAffected {
		g.Go(func() error { return inputs.run(gctx, refresh) })
	}
	g.Go(func() error { return procs.run(gctx) })
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
		forceKill(ctx, forced, procs.Kill)
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

func forceKill(ctx context.Context, done <-chan struct{}, kill func()) {
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
		kill()
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
		env := make([]string, 0, len(t.Run.Env))
		for k, v := range t.Run.Env {
			env = append(env, k+"="+v)
		}
		s, err := supervisor.New(supervisor.Options{
			Name: t.Name, Command: t.Run.Command, Env: env, Dir: t.Run.Dir,
			StopSignal: t.Run.StopSignal, StopTimeout: t.Run.StopTimeout, Ready: t.Run.Ready,
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

// dropOwnWrites removes devloop's own exported files and output files from watcher
// events. (Edits of devloop.yaml and the ignore file go on: the reloader applies them.)
func dropOwnWrites(ctx context.Context, proj *project, self *feedback.Detector, in <-chan watcher.Event, out chan<- watcher.Event) error {
	for {
		var ev watcher.Event
		select {
		case <-ctx.Done():
			return nil
		case ev = <-in:
		}
		kept := ev.Paths[:0:0]
		for _, p := range ev.Paths {
			if proj.isOutput(p) {
				continue
			}
			if abs := filepath.Join(proj.cfg.Context, filepath.FromSlash(p)); self.Own(abs) {
				proj.outputs.add(abs) // out of the build context too
				continue
			}
			kept = append(kept, p)
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

// ownEchoes tells self about a build started for paths (relative to the context). Files
// it convicts of only echoing devloop's output become devloop's own, and the user is
// told once how to say so in devloop.yaml.
func ownEchoes(self *feedback.Detector, proj *project, out io.Writer, paths []string) {
	abs := make([]string, len(paths))
	for i, p := range paths {
		abs[i] = filepath.Join(proj.cfg.Context, filepath.FromSlash(p))
	}
	for _, p := range self.BuildStarted(abs) {
		proj.outputs.add(p)
		rel, _ := filepath.Rel(proj.cfg.Context, p)
		fmt.Fprintf(out, "[devloop] %s only repeats what devloop prints and started %d builds in a row: devloop now ignores it (not watched, not in the build context); to say so in devloop.yaml: watch: {ignore: [%s]}\n",
			relToCwd(p), feedback.DefaultBuilds, strconv.Quote(escapeGlob(filepath.ToSlash(rel))))
	}
}

// escapeGlob quotes the doublestar metacharacters of a literal path.
func escapeGlob(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[]{}\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
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
