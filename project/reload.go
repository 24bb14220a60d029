package project

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/watcher"
	"go.uber.org/zap"
)

// liveState is what a reload of devloop.yaml or of the ignore file replaces while up
// runs. Builds read it once per solve (project.live); it is never modified.
type liveState struct {
	cfg     *config.Config            // the config running: config.Diff's next
	targets map[string]*config.Target // the selected targets, from cfg
	rules   *watcher.Rules
	gen     int // number of reloads applied
}

// reloader applies edits of devloop.yaml and of the ignore file while `devloop up`
// runs, as Tilt does: the new config is parsed (an invalid one is reported and the
// running one kept), config.Diff says what changed and what can change live, and the
// live part is applied — the state builds read, the watch rules, the debounce timing,
// the dependency analysis, the supervisors of targets whose run settings changed — and
// the targets the change reaches are rebuilt. Keys that cannot change live are named,
// with their line, and keep their old value.
//
// It sits between the debouncer and the loop (changes), is the loop's Builder (to
// know which solves ran with which reload) and decides for the loop which targets a
// change affects (affects).
type reloader struct {
	reloaderOptions
	file    string          // devloop.yaml as given (-f), as errors name it
	names   []string        // the selected targets
	yaml    string          // devloop.yaml, relative to the context as the watcher reports it
	ignores map[string]bool // both places of the ignore file, relative to the context
	timing  atomic.Pointer[watcher.Timing]

	mu    sync.Mutex
	dirty map[string]int // target → the reload (gen) whose change it has not been built with
}

// reloaderOptions are what up hands the reloader.
type reloaderOptions struct {
	proj         *Project
	grammars     config.Grammars // devloop.yaml's value grammars
	watcher      *watcher.Watcher
	procs        *processes
	newSups      func([]*config.Target) (supervisors, error) // from new run settings
	out          io.Writer                                   // the human output
	log          *zap.Logger
	inputs       *targetInputs   // the Go dependency analysis, for affects
	onlyAffected bool            // --only-affected
	refresh      chan<- struct{} // asks for the targets' inputs to be learnt again
}

func newReloader(file string, o reloaderOptions) *reloader {
	cfg := o.proj.cfg
	o.log = o.log.Named("reload")
	r := &reloader{
		reloaderOptions: o, file: file, names: o.proj.TargetNames(),
		ignores: map[string]bool{}, dirty: map[string]int{},
	}
	rel := func(abs string) string {
		if rel, err := filepath.Rel(cfg.Context, abs); err == nil {
			return filepath.ToSlash(rel)
		}
		return abs
	}
	if abs, err := filepath.Abs(cfg.File); err == nil {
		r.yaml = rel(abs)
	}
	r.ignores[rel(cfg.Dockerfile+".dockerignore")] = true
	r.ignores[rel(filepath.Join(cfg.Context, ".dockerignore"))] = true
	r.timing.Store(&watcher.Timing{Quiet: cfg.Watch.Debounce, MaxWait: cfg.Watch.MaxWait})
	return r
}

// debounceTiming is watch.debounce and watch.max_wait as last reloaded.
func (r *reloader) debounceTiming() watcher.Timing { return *r.timing.Load() }

// isSetting reports whether a changed path (relative to the context) is devloop.yaml
// or an ignore file: edits that reload, not inputs of a build.
func (r *reloader) isSetting(p string) bool { return p == r.yaml || r.ignores[p] }

// changes passes debounced batches on to the loop, reloading first when a batch holds
// devloop.yaml or the ignore file. Such a batch goes on only if a target must be
// built: one the reload reached, or for the batch's other paths.
func (r *reloader) changes(ctx context.Context, in <-chan watcher.Batch, out chan<- loop.Change) error {
	for {
		var b watcher.Batch
		select {
		case <-ctx.Done():
			return nil
		case b = <-in:
		}
		// A file found to be devloop's own output while its events waited in the
		// debouncer (the echo guard convicts at a build's start) is not an edit either.
		b.Paths = slices.DeleteFunc(slices.Clone(b.Paths), r.proj.isOutput)
		if len(b.Paths) == 0 && !b.Overflow {
			continue
		}
		if r.onlyAffected || r.inputs.narrow {
			r.inputs.changed(b.Paths, b.Overflow)
		}
		yaml, ignore, other := false, false, false
		for _, p := range b.Paths {
			switch {
			case p == r.yaml:
				yaml = true
			case r.ignores[p]:
				ignore = true
			default:
				other = true
			}
		}
		if yaml || ignore {
			r.reload(ctx, yaml, ignore)
			r.mu.Lock()
			dirty := len(r.dirty) > 0
			r.mu.Unlock()
			if !other && !b.Overflow && !dirty {
				continue
			}
		}
		select {
		case out <- loop.Change{Paths: b.Paths, Overflow: b.Overflow, First: b.First, Last: b.Last}:
		case <-ctx.Done():
			return nil
		}
	}
}

// affects implements loop.Options.Affects: a target a reload reached is built until
// it has been built with that reload; otherwise the settings files affect nothing by
// themselves (their changes were applied), and other paths as the Go dependency
// analysis says (or every target, with --only-affected=false).
func (r *reloader) affects(target string, paths []string) bool {
	r.mu.Lock()
	_, dirty := r.dirty[target]
	r.mu.Unlock()
	if dirty {
		return true
	}
	rest := slices.DeleteFunc(slices.Clone(paths), r.isSetting)
	if len(rest) == 0 {
		return false
	}
	if !r.onlyAffected {
		return true
	}
	return r.inputs.affects(target, rest)
}

// Build implements loop.Builder: the project's solve, remembering which reload it ran
// with so that a successful commit clears the target's pending reload.
func (r *reloader) Build(ctx context.Context, target string) (loop.Result, error) {
	gen := r.proj.live.Load().gen
	res, err := r.proj.Build(ctx, target)
	if err != nil {
		return res, err
	}
	res.Staged = &reloadStaged{Staged: res.Staged, commit: func() {
		r.mu.Lock()
		if g, ok := r.dirty[target]; ok && g <= gen {
			delete(r.dirty, target)
		}
		r.mu.Unlock()
	}}
	return res, nil
}

// reloadStaged tells the reloader when a target's output was committed.
type reloadStaged struct {
	loop.Staged
	commit func()
}

func (s *reloadStaged) Commit() (loop.Swap, error) {
	sw, err := s.Staged.Commit()
	if err == nil {
		s.commit()
	}
	return sw, err
}

// reload re-reads what changed and applies it; it prints one line saying what was
// applied, and one per key that was not.
func (r *reloader) reload(ctx context.Context, yamlChanged, ignoreChanged bool) {
	cur := r.proj.live.Load()
	next := cur.cfg
	var (
		changes []config.Change
		files   []string
	)
	if yamlChanged {
		nc, ok := r.load(cur.cfg)
		if !ok && !ignoreChanged {
			return
		}
		if ok {
			files = append(files, r.file)
			next, changes = config.Diff(cur.cfg, nc)
		}
	}
	for _, c := range changes {
		if c.Effect == config.NotLive {
			fmt.Fprintf(r.out, "[devloop] %s:%d: %s %s: restart devloop up to apply it (nothing of it was applied)\n", r.file, c.Line, c.Field, c.Op)
		}
	}

	// The context and watch rules: the ignore file, or watch.ignore, changed.
	rules, failed := cur.rules, false
	ignorePath := dockerignorePath(next)
	if ignoreChanged || slices.ContainsFunc(changes, func(c config.Change) bool { return c.Field == "watch.ignore" }) {
		if ignoreChanged {
			files = append(files, ospath.DisplayCwd(ignorePath))
		}
		if nr, err := rulesFor(next); err != nil {
			fmt.Fprintf(r.out, "[devloop] %v: the previous build context and watch rules stay (nothing of it was applied)\n", err)
			failed = true
		} else {
			rules = nr
		}
	}
	// watch.ignore keeps paths out of the context too (watcher.Rules): a changed glob
	// rebuilds every target, as a changed .dockerignore does.
	contextChanged := !rules.SameContext(cur.rules)

	targets := make(map[string]*config.Target, len(r.names))
	var selected []*config.Target
	for _, name := range r.names {
		targets[name] = next.Targets[name]
		selected = append(selected, next.Targets[name])
	}
	gen := cur.gen + 1
	r.proj.live.Store(&liveState{cfg: next, targets: targets, rules: rules, gen: gen})
	r.timing.Store(&watcher.Timing{Quiet: next.Watch.Debounce, MaxWait: next.Watch.MaxWait})
	if rules != cur.rules {
		// Not waited for: the watcher may be blocked sending us an event.
		if _, err := r.watcher.SetRules(rules); err != nil && ctx.Err() == nil {
			fmt.Fprintf(r.out, "[devloop] %v\n", err)
		}
	}

	var applied []string
	rebuild, restart := map[string]bool{}, map[string]bool{}
	inputsChanged := false
	for _, c := range changes {
		switch c.Effect {
		case config.NotLive:
			continue
		case config.Rebuild:
			inputsChanged = inputsChanged || !strings.HasPrefix(c.Field, "secrets.")
			for _, t := range c.Targets {
				if _, ok := targets[t]; ok {
					rebuild[t] = true
				}
			}
		case config.RestartProcess:
			for _, t := range c.Targets {
				if _, ok := targets[t]; ok {
					restart[t] = true
				}
			}
		}
		applied = append(applied, c.Field)
	}
	if ignoreChanged && rules != cur.rules {
		applied = append(applied, "the build context and watch rules")
	}
	if contextChanged {
		for _, name := range r.names {
			rebuild[name] = true
		}
	}
	if inputsChanged {
		r.inputs.reconfigure(next, selected)
		select { // learn the new inputs off the hot path
		case r.refresh <- struct{}{}:
		default:
		}
	}
	r.mu.Lock()
	for t := range rebuild {
		r.dirty[t] = gen
	}
	r.mu.Unlock()

	if failed && len(applied) == 0 {
		return // said above
	}
	line := "[devloop] reloaded " + strings.Join(files, ", ") + ": "
	switch {
	case len(applied) == 0 && len(changes) > 0:
		line += "nothing applied"
	case len(applied) == 0:
		line += "no setting changed"
	default:
		line += "applied " + strings.Join(applied, ", ")
		if len(rebuild) > 0 {
			line += "; rebuilding " + strings.Join(slices.Sorted(maps.Keys(rebuild)), ", ")
		}
		if len(restart) > 0 {
			line += "; restarting " + strings.Join(slices.Sorted(maps.Keys(restart)), ", ")
		}
	}
	fmt.Fprintln(r.out, line)
	if len(restart) > 0 {
		r.restartProcesses(ctx, selected, restart)
	}
}

// load parses devloop.yaml again. An invalid file is reported, problem by problem
// with file:line:col, and ok is false: the running config stays.
func (r *reloader) load(cur *config.Config) (cfg *config.Config, ok bool) {
	nc, err := config.Load(r.file, r.grammars)
	if err == nil {
		nc.OverridePlatforms(r.proj.platforms)
		// A stage that is not in the Dockerfile is reported now, not by the build.
		var sel []*config.Target
		stageChanged := false
		for _, name := range r.names {
			if t := nc.Targets[name]; t != nil {
				sel = append(sel, t)
				stageChanged = stageChanged || cur.Targets[name] == nil || stageRef(nc, t) != stageRef(cur, cur.Targets[name])
			}
		}
		if stageChanged {
			err = Check(nc, sel, r.proj.dockerfiles, io.Discard)
		}
	}
	if err != nil {
		for _, l := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(r.out, "[devloop] %s\n", l)
		}
		fmt.Fprintf(r.out, "[devloop] %s not applied: the previous config keeps running\n", r.file)
		return nil, false
	}
	return nc, true
}

// restartProcesses replaces the supervisors of the named targets with ones built
// from their new run settings.
func (r *reloader) restartProcesses(ctx context.Context, selected []*config.Target, names map[string]bool) {
	sups, err := r.newSups(selected)
	if err != nil {
		fmt.Fprintf(r.out, "[devloop] %s: %v: the running processes keep their settings\n", r.file, err)
		return
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		if s := sups[name]; s != nil {
			if err := r.procs.replace(ctx, name, s); err != nil && ctx.Err() == nil {
				fmt.Fprintf(r.out, "%s: restart with the new run settings failed: %v\n", name, err)
			}
		}
	}
}
