package project

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/feedback"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/rebuild"
	"github.com/devloop/devloop/supervisor"
	"github.com/devloop/devloop/watcher"
	"golang.org/x/sync/errgroup"
)

// UpOptions configures [Project.Up].
type UpOptions struct {
	// File is devloop.yaml as given (-f): reloads read it, messages name it.
	File string
	// Grammars are devloop.yaml's value grammars, for reloads (config.Load).
	Grammars config.Grammars
	// OnlyAffected rebuilds only the targets a change can affect (Go targets: from
	// go list -deps); false rebuilds every target on every change.
	OnlyAffected bool
	// ContextCache serves each solve's walk of the build context from what the
	// watcher vouches has not changed (rebuild.StatCache): no lstat per file per
	// solve.
	ContextCache bool
	// Out is the human output: notices, reloads, the processes' output. It must be
	// safe for concurrent use.
	Out io.Writer
	// Color colours the processes' output prefixes.
	Color bool
	// Feedback tells which files receive devloop's own output; they never count as
	// edits and stay out of the build context. Required.
	Feedback *feedback.Detector
	// Written are other files devloop writes (absolute paths: the --events file).
	Written []string
	// Events hears the loop's events, ProcessEvents the supervisors'; calls of the two
	// never overlap. Nil hears nothing.
	Events        func(loop.Event)
	ProcessEvents func(supervisor.Event)
	// Kill, when it receives or is closed, SIGKILLs every process group at once (a
	// second Ctrl-C while shutting down).
	Kill <-chan struct{}
}

// supervisors are one supervisor per target with run:, by target.
type supervisors map[string]*supervisor.Supervisor

// Up runs devloop up until ctx ends: it builds the selected targets, starts their
// processes, then watches the build context and rebuilds, swaps and restarts on every
// change. The pipeline, one goroutine per stage, each ending with ctx:
//
//	watcher ─raw─► own-writes filter ─filtered─► debounce ─batches─► reloader ─changes─► loop
//
// beside the progress display, the supervisors (processes) and, with OnlyAffected,
// the target inputs' refresh. A failed build keeps the last good binaries and
// processes. It returns nil once ctx ended and every process stopped ("[devloop]
// stopped" is said), else the error that ended a stage.
func (p *Project) Up(ctx context.Context, opts UpOptions) error {
	cfg, targets := p.cfg, p.selected
	policy, err := loop.ParsePolicy(cfg.Watch.OnBusy)
	if err != nil {
		return err
	}
	self, out := opts.Feedback, opts.Out
	if opts.Events == nil {
		opts.Events = func(loop.Event) {}
	}
	if opts.ProcessEvents == nil {
		opts.ProcessEvents = func(supervisor.Event) {}
	}
	for _, f := range append(self.Sinks(), opts.Written...) {
		p.outputs.Add(f)
	}

	inputs := newTargetInputs(cfg, targets, p.daemonPlatform, p.dockerfiles, out, p.log)
	inputs.narrow = p.narrow
	p.inputs = inputs
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
		opts.Events(ev)
		if ev, ok := ev.(loop.BuildStarted); ok {
			p.ownEchoes(self, out, ev.Paths)
		}
	}
	procEvents := func(ev supervisor.Event) {
		mu.Lock()
		defer mu.Unlock()
		opts.ProcessEvents(ev)
	}
	newSups := func(targets []*config.Target) (supervisors, error) {
		return p.supervisors(targets, opts, procEvents)
	}
	sups, err := newSups(targets)
	if err != nil {
		return err
	}
	procs := newProcesses(sups, p.log)
	run := map[string]bool{}
	for _, t := range targets {
		run[t.Name] = t.Run != nil
	}
	w, err := watcher.New(watcher.Options{Rules: p.rules, Logger: p.log})
	if err != nil {
		return err
	}
	if opts.ContextCache {
		if p.stats, err = rebuild.NewStatCache(cfg.Context, w); err != nil {
			return err
		}
	}
	rl := newReloader(opts.File, reloaderOptions{
		proj: p, grammars: opts.Grammars, watcher: w, procs: procs, newSups: newSups, out: out, log: p.log,
		inputs: inputs, onlyAffected: opts.OnlyAffected, refresh: refresh,
	})
	l, err := loop.New(loop.Options{
		Affects: rl.affects,
		Targets: p.TargetNames(), Run: run, Policy: policy, Builder: rl, Restarter: procs,
		Program: func(name string) string {
			// As the swaps name files (see staged.Commit).
			if t := p.live.Load().cfg.Targets[name]; t != nil {
				if prog := programOf(t); prog != "" {
					return p.display(prog)
				}
			}
			return ""
		},
		Events: emit, Logger: p.log, MaxWait: cfg.Watch.MaxWait,
	})
	if err != nil {
		return err
	}

	raw := make(chan watcher.Event)
	filtered := make(chan watcher.Event)
	batches := make(chan watcher.Batch)
	changes := make(chan loop.Change)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.printer.Run(gctx) })
	g.Go(func() error { return w.Run(gctx, raw) })
	g.Go(func() error { return p.dropOwnWrites(gctx, self, raw, filtered) })
	g.Go(func() error { return watcher.DebounceFunc(gctx, rl.debounceTiming, filtered, batches) })
	g.Go(func() error { return rl.changes(gctx, batches, changes) })
	if opts.OnlyAffected || p.narrow {
		g.Go(func() error { return inputs.run(gctx, refresh) })
	}
	g.Go(func() error { return procs.run(gctx) })
	g.Go(func() error {
		err := l.Run(gctx, changes)
		p.printer.Close()
		return err
	})

	// Kill is heard until every stage has returned: the supervisors' grace periods
	// run after ctx ended.
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-opts.Kill:
			procs.Kill()
		case <-stopped:
		}
	})
	err = g.Wait()
	close(stopped)
	wg.Wait()
	if err != nil && ctx.Err() == nil {
		return err
	}
	fmt.Fprintln(out, "[devloop] stopped")
	return nil
}

// supervisors builds one supervisor per target of targets with run:.
func (p *Project) supervisors(targets []*config.Target, opts UpOptions, events func(supervisor.Event)) (supervisors, error) {
	sups := supervisors{}
	width := 0
	for _, t := range targets {
		width = max(width, len(t.Name))
	}
	for _, t := range targets {
		if t.Run == nil {
			continue
		}
		env := make([]string, 0, len(t.Run.Env))
		for k, v := range t.Run.Env {
			env = append(env, k+"="+v)
		}
		s, err := supervisor.New(supervisor.Options{
			Name: t.Name, Command: runCommand(t), Env: env, Dir: t.Run.Dir, DescribeExecutable: describeExecutable,
			StopSignal: t.Run.StopSignal, StopTimeout: t.Run.StopTimeout, Ready: t.Run.Ready,
			Stdout: opts.Out, Stderr: opts.Out, Color: opts.Color, PrefixWidth: width,
			Events: events, Logger: p.log,
			RunFile: filepath.Join(p.cfg.Dir, stateDirName, "run", t.Name),
		})
		if err != nil {
			return nil, err
		}
		sups[t.Name] = s
	}
	return sups, nil
}

// dropOwnWrites removes devloop's own exported files and output files from watcher
// events. (Edits of devloop.yaml and the ignore file go on: the reloader applies them.)
func (p *Project) dropOwnWrites(ctx context.Context, self *feedback.Detector, in <-chan watcher.Event, out chan<- watcher.Event) error {
	for {
		var ev watcher.Event
		select {
		case <-ctx.Done():
			return nil
		case ev = <-in:
		}
		kept := ev.Paths[:0:0]
		for _, rel := range ev.Paths {
			if p.isOutput(rel) {
				continue
			}
			if abs := filepath.Join(p.cfg.Context, filepath.FromSlash(rel)); self.Own(abs) {
				p.outputs.Add(abs) // out of the build context too
				continue
			}
			kept = append(kept, rel)
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
func (p *Project) ownEchoes(self *feedback.Detector, out io.Writer, paths []string) {
	abs := make([]string, len(paths))
	for i, rel := range paths {
		abs[i] = filepath.Join(p.cfg.Context, filepath.FromSlash(rel))
	}
	for _, f := range self.BuildStarted(abs) {
		p.outputs.Add(f)
		rel, _ := filepath.Rel(p.cfg.Context, f)
		fmt.Fprintf(out, "[devloop] %s only repeats what devloop prints and started %d builds in a row: devloop now ignores it (not watched, not in the build context); to say so in devloop.yaml: watch: {ignore: [%s]}\n",
			ospath.DisplayCwd(f), feedback.DefaultBuilds, strconv.Quote(escapeGlob(filepath.ToSlash(rel))))
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
