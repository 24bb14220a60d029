package project

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/exporter"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/devloop/devloop/loop"
	"github.com/devloop/devloop/rebuild"
	"github.com/devloop/devloop/watcher"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// stateDirName is devloop's per-project state (manifests, staging) next to devloop.yaml.
const stateDirName = ".devloop"

// LogDir is where the whole output of failed steps goes (.devloop/logs next to
// devloop.yaml): inside the state dir, so neither watched nor sent.
func (p *Project) LogDir() string { return filepath.Join(p.cfg.Dir, stateDirName, "logs") }

// stagingPattern matches the staging dirs the exporter creates inside an output dir
// when the state dir is on another filesystem.
const stagingPattern = "**/.devloop-staging-*"

// Access is how a command uses the targets' output directories.
type Access int

const (
	// LookOnly reads what the targets exported and takes no lock (devloop explain).
	LookOnly Access = iota
	// Share exports, taking turns with other devloop processes only for each swap
	// (devloop build: an editor's build task while devloop up runs).
	Share
	// Hold also holds the selected targets for the whole session: a second devloop
	// up of a target would kill the first one's processes as leftovers.
	Hold
)

// owner names the command in the exporters' lock files.
func (a Access) owner() string {
	if a == Hold {
		return "devloop up"
	}
	return "devloop build"
}

// Options configures [Open].
type Options struct {
	// Config is the loaded devloop.yaml.
	Config *config.Config
	// Targets are the targets this command builds, in order (from Config.Select).
	Targets []*config.Target
	// Access says how the command uses the output directories.
	Access Access
	// Client is the connected BuildKit client; required unless Access is LookOnly.
	// The Project owns it from then on: Close closes it.
	Client *rebuild.Client
	// Printer shows the solves' progress.
	Printer *rebuild.Printer
	// Dockerfiles is the cache [Check] parsed the Dockerfile with, so that it is not
	// parsed again; nil starts a new one.
	Dockerfiles *dockerfile.Cache
	// Pin resolves the Dockerfile's images once and pins their digests for the
	// session (rebuild.WithPins).
	Pin bool
	// Narrow sends each target only the context paths its build reads, where devloop
	// knows them (Go builds, targets.NAME.only; see narrow.go): BuildKit's file sync
	// then costs what the target reads, not the size of the context, and a change
	// elsewhere neither rebuilds it nor changes its cache keys.
	Narrow bool
	// Waits hears, once per target, that a swap waits for another devloop process;
	// nil: not said.
	Waits io.Writer
	// Notices hears what devloop chose for the session: the images it pinned, the
	// daemon's built-in frontend standing in for the `# syntax=` image, targets whose
	// inputs are unknown; nil: not said.
	Notices io.Writer
	// Platforms, if set, replace every target's platforms (the --platform flag), in
	// the config given and in every reloaded one (config.OverridePlatforms).
	Platforms []string
	// Logger is devloop's logger.
	Logger *zap.Logger
}

// Project is a loaded devloop.yaml ready to build: its exporters, watch and context
// rules, output registry and the BuildKit solver stack. It is the loop's Builder
// (solve into staging with rebuild, swap with exporter).
type Project struct {
	// cfg, selected, targets and rules are as loaded. The keys of cfg that cannot
	// change while up runs (context, dockerfile, outputs, …) hold for the session;
	// what a reload can change, builds read from live (see reload.go).
	cfg       *config.Config
	selected  []*config.Target // the targets this command builds, in order
	targets   map[string]*config.Target
	rules     *watcher.Rules
	live      atomic.Pointer[liveState]
	exporters map[string]*exporter.Exporter
	outputs   *exporter.Outputs // every file devloop wrote: out of the context and the watch set
	// dockerfiles parses the Dockerfile once per content for the checks, the frontend
	// choice, pinning, target inputs and failure descriptions.
	dockerfiles *dockerfile.Cache

	// narrow: see Options.Narrow; inputs knows the targets' inputs once Once or Up
	// started (nil before), and stats serves the context walk from memory while up
	// runs with a context cache (nil otherwise).
	narrow bool
	inputs *targetInputs
	stats  *rebuild.StatCache

	client   *rebuild.Client
	solver   rebuild.Solver // client, wrapped (see newSolver)
	devbuild *devBuild      // the solver's dev build layer (nil before newSolver)
	pinner   *rebuild.Pinner
	printer  *rebuild.Printer
	notices  io.Writer
	log      *zap.Logger

	// daemonPlatform is the daemon's default platform (rebuild.Client.Platform), zero
	// when unknown; platforms overrides every target's (Options.Platforms).
	daemonPlatform ocispecs.Platform
	platforms      []string
	warnedMu       sync.Mutex
	warned         map[string]bool // the cross-compilation warnings said
}

// Open sets up the rules, the output registry and, unless opts.Access is LookOnly,
// an exporter per configured target and the solver stack. Errors are about
// devloop.yaml's values (an unusable output directory, at its position) or a target
// another devloop up holds.
func Open(opts Options) (*Project, error) {
	cfg, log := opts.Config, opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	p := &Project{
		cfg:         cfg,
		selected:    opts.Targets,
		targets:     map[string]*config.Target{},
		exporters:   map[string]*exporter.Exporter{},
		outputs:     exporter.NewOutputs(),
		dockerfiles: opts.Dockerfiles,
		platforms:   opts.Platforms,
		warned:      map[string]bool{},
		printer:     opts.Printer,
		notices:     opts.Notices,
		narrow:      opts.Narrow,
		log:         log,
	}
	if p.dockerfiles == nil {
		p.dockerfiles = dockerfile.NewCache()
	}
	cfg.OverridePlatforms(opts.Platforms)
	for _, t := range opts.Targets {
		p.targets[t.Name] = t
	}
	stateDir := filepath.Join(cfg.Dir, stateDirName)
	waiting := newWaitNotices(opts.Waits)
	for _, name := range cfg.TargetNames() {
		t := cfg.Targets[name]
		_, selected := p.targets[name]
		eo := exporter.Options{OutputDir: t.Output, StateDir: stateDir, Target: t.Name, Logger: log,
			Owner: opts.Access.owner(), Exclusive: opts.Access == Hold && selected, Waiting: waiting.hook(t.Name)}
		if opts.Access == LookOnly {
			files, err := exporter.ExportedFiles(eo)
			if err != nil {
				return nil, err
			}
			for _, f := range files {
				p.outputs.Add(filepath.Join(t.Output, filepath.FromSlash(f)))
			}
			continue
		}
		eo.Outputs = p.outputs
		e, err := exporter.New(eo)
		if err != nil {
			p.closeExporters()
			return nil, exporterError(cfg, t, err)
		}
		p.exporters[t.Name] = e
	}
	rules, err := rulesFor(cfg)
	if err != nil {
		p.closeExporters()
		return nil, err
	}
	p.rules = rules
	p.live.Store(&liveState{cfg: cfg, targets: p.targets, rules: rules})
	if opts.Client != nil {
		p.client = opts.Client
		p.daemonPlatform = opts.Client.Platform()
		if err := p.newSolver(clientDaemon(opts.Client), opts.Pin); err != nil {
			p.closeExporters()
			return nil, err
		}
	}
	return p, nil
}

// Close releases the exporters' locks, the BuildKit client and the pinner.
func (p *Project) Close() {
	p.closeExporters()
	if p.client != nil {
		_ = p.client.Close() // first: it ends a pin resolution in flight at once
	}
	if p.pinner != nil {
		p.pinner.Close()
	}
}

func (p *Project) closeExporters() {
	for _, e := range p.exporters {
		_ = e.Close()
	}
}

// Rules are the watch and context rules as opened.
func (p *Project) Rules() *watcher.Rules { return p.rules }

// Outputs is the output registry: every file devloop exported (and, while up runs,
// the files its own output goes to).
func (p *Project) Outputs() *exporter.Outputs { return p.outputs }

// TargetNames are the selected targets' names, in order.
func (p *Project) TargetNames() []string {
	names := make([]string, len(p.selected))
	for i, t := range p.selected {
		names[i] = t.Name
	}
	return names
}

// Once builds the selected targets once and swaps them into place (devloop build):
// the loop's Once with the progress display running. events hears the loop's events.
// ok is false when a target failed; an error wrapping loop.ErrUnavailable means
// BuildKit could not be reached.
func (p *Project) Once(ctx context.Context, events func(loop.Event)) (ok bool, err error) {
	l, err := loop.New(loop.Options{Targets: p.TargetNames(), Builder: p, Events: events, Logger: p.log})
	if err != nil {
		return false, err
	}
	var g errgroup.Group
	g.Go(func() error { return p.printer.Run(ctx) })
	ictx, stopInputs := context.WithCancel(ctx)
	if p.narrow {
		// The targets' inputs, learnt once: the builds wait for them.
		p.inputs = newTargetInputs(p.cfg, p.selected, p.client.Platform(), p.dockerfiles, io.Discard, p.log)
		p.inputs.narrow = true
		refresh := make(chan struct{}, 1)
		refresh <- struct{}{}
		g.Go(func() error { return p.inputs.run(ictx, refresh) })
	}
	ok, err = l.Once(ctx)
	stopInputs()
	p.printer.Close()
	_ = g.Wait()
	return ok, err
}

// exporterError explains why a target's exporter cannot start: an unusable output
// directory at its devloop.yaml position, a target another devloop up runs.
func exporterError(cfg *config.Config, t *config.Target, err error) error {
	var od *exporter.OutputDirError
	var held *exporter.HeldError
	switch {
	case errors.As(err, &od):
		return cfg.ErrorAt("targets."+t.Name+".output", "%v", od.Err)
	case errors.As(err, &held):
		return fmt.Errorf("target %s: %s is already running it in this project; stop that one first (devloop build and devloop explain work alongside it)",
			t.Name, held.Holder)
	}
	return err
}

// waitNotices says once per target that a swap waits for another devloop process.
type waitNotices struct {
	w    io.Writer
	mu   sync.Mutex
	said map[string]bool
}

func newWaitNotices(w io.Writer) *waitNotices {
	return &waitNotices{w: w, said: map[string]bool{}}
}

// hook returns the exporter's Waiting hook for target.
func (n *waitNotices) hook(target string) func(holder string) {
	return func(holder string) {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.w == nil || n.said[target] {
			return
		}
		n.said[target] = true
		fmt.Fprintf(n.w, "[devloop] waiting for %s to finish exporting %s…\n", holder, target)
	}
}

// rulesFor is the watch and context rule set of cfg: its .dockerignore and
// watch.ignore, devloop's outputs and state excluded, its settings files watched.
func rulesFor(cfg *config.Config) (*watcher.Rules, error) {
	outputs := []string{filepath.Join(cfg.Dir, stateDirName)}
	for _, t := range cfg.Targets {
		// Every configured target's outputs stay out of the context, not only the
		// selected ones: a file another target exported must not bust the cache.
		if _, holdsContext := ospath.Child(t.Output, cfg.Context); !holdsContext {
			outputs = append(outputs, t.Output)
		}
	}
	return watcher.NewRules(watcher.RulesOptions{
		Root:         cfg.Context,
		Ignore:       append(slices.Clone(cfg.Watch.Ignore), stagingPattern),
		Dockerignore: dockerignorePath(cfg),
		Outputs:      outputs,
		AlwaysWatch:  alwaysWatched(cfg),
		Config:       configPath(cfg),
	})
}

// dockerignorePath is the ignore file BuildKit's Dockerfile frontend uses:
// <Dockerfile>.dockerignore next to the Dockerfile if present, else the context's.
func dockerignorePath(cfg *config.Config) string {
	if specific := cfg.Dockerfile + ".dockerignore"; fileExists(specific) {
		return specific
	}
	return filepath.Join(cfg.Context, ".dockerignore")
}

// alwaysWatched are the files that shape devloop or the build whatever the rules say:
// the Dockerfile, both places of its ignore file (one appearing switches them) and
// devloop.yaml.
func alwaysWatched(cfg *config.Config) []string {
	return []string{cfg.Dockerfile, cfg.Dockerfile + ".dockerignore", filepath.Join(cfg.Context, ".dockerignore"), configPath(cfg)}
}

// configPath is devloop.yaml's absolute path.
func configPath(cfg *config.Config) string {
	abs, err := filepath.Abs(cfg.File)
	if err != nil {
		return filepath.Join(cfg.Dir, filepath.Base(cfg.File))
	}
	return abs
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// excludes are the context exclusions sent with every solve: the rule set's (outputs,
// state dir, devloop.yaml) plus every file devloop exported into the context.
func (p *Project) excludes(rules *watcher.Rules) []string {
	ex := append(rules.ContextExcludes(), stagingPattern)
	for _, abs := range p.outputs.List() {
		if rel, ok := ospath.Child(p.cfg.Context, abs); ok {
			ex = append(ex, filepath.ToSlash(rel))
		}
	}
	return ex
}

// isOutput reports whether a changed path (slash-separated, relative to the context) is
// a file devloop exported or a directory holding one: such events are devloop's own
// writes, not the user's edits.
func (p *Project) isOutput(rel string) bool {
	return p.outputs.Contains(filepath.Join(p.cfg.Context, filepath.FromSlash(rel)))
}

// display shows an absolute path relative to the project directory.
func (p *Project) display(abs string) string {
	if rel, ok := ospath.Child(p.cfg.Dir, abs); ok {
		return filepath.ToSlash(rel)
	}
	return abs
}
