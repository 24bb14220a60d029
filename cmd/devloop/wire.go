package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
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
	"github.com/devloop/devloop/supervisor"
	"github.com/devloop/devloop/watcher"
	"go.uber.org/zap"
)

// stateDirName is devloop's per-project state (manifests, staging) next to devloop.yaml.
const stateDirName = ".devloop"

// stagingPattern matches the staging dirs the exporter creates inside an output dir
// when the state dir is on another filesystem.
const stagingPattern = "**/.devloop-staging-*"

// project adapts the concrete packages to the interfaces the loop declares: it is the
// loop's Builder (solve into staging with rebuild, swap with exporter) and tracks which
// files devloop wrote so they stay out of the build context and the watch set.
type project struct {
	// cfg, selected, targets and rules are as loaded. The keys of cfg that cannot
	// change while up runs (context, dockerfile, outputs, …) hold for the session;
	// what a reload can change, builds read from live (see reload.go).
	cfg       *config.Config
	selected  []*config.Target // the targets this command builds, in order
	targets   map[string]*config.Target
	client    *rebuild.Client
	printer   *rebuild.Printer
	exporters map[string]*exporter.Exporter
	rules     *watcher.Rules
	live      atomic.Pointer[liveState]
	outputs   *pathSet // absolute paths of every file devloop exported
	log       *zap.Logger
	// dockerfiles parses the Dockerfile once per content for the check, the frontend
	// choice, pinning, target inputs and failure descriptions.
	dockerfiles *dockerfile.Cache

	// pin, when set, resolves the Dockerfile's images once and pins their digests for
	// the rest of the session (see pinsFor).
	pin     bool
	notices io.Writer
	pinner  *rebuild.Pinner

	// versionOf asks the daemon for its BuildKit version (client.DaemonVersion; a
	// test hook). frontendMu guards the version, kept until the daemon is lost, and
	// the syntax last announced as run by the built-in frontend.
	versionOf     func(context.Context) (string, error)
	frontendMu    sync.Mutex
	daemonVersion string
	announced     string
}

// targetAccess is how a command uses the targets' output directories.
type targetAccess int

const (
	// lookOnly reads what the targets exported and takes no lock (devloop explain).
	lookOnly targetAccess = iota
	// shareTargets exports, taking turns with other devloop processes only for
	// each swap (devloop build: an editor's build task while devloop up runs).
	shareTargets
	// holdTargets also holds the selected targets for the whole session: a second
	// devloop up of a target would kill the first one's processes as leftovers.
	holdTargets
)

// newProject sets up the rules and, unless access is lookOnly, an exporter per
// configured target. notices hears when a swap waits for another devloop process.
func newProject(cfg *config.Config, targets []*config.Target, log *zap.Logger, access targetAccess, notices io.Writer) (*project, error) {
	p := &project{
		cfg:       cfg,
		targets:   map[string]*config.Target{},
		exporters: map[string]*exporter.Exporter{},
		outputs:   newPathSet(),
		log:       log,

		dockerfiles: dockerfile.NewCache(),
	}
	stateDir := filepath.Join(cfg.Dir, stateDirName)
	selected := map[string]bool{}
	for _, t := range targets {
		selected[t.Name] = true
	}
	// Once devloop up set the project's notices writer (what the echo guard sees),
	// the notices go there.
	waiting := newWaitNotices(func() io.Writer {
		if p.notices != nil {
			return p.notices
		}
		return notices
	})
	for _, name := range cfg.TargetNames() {
		t := cfg.Targets[name]
		opts := exporter.Options{OutputDir: t.Output, StateDir: stateDir, Target: t.Name, Logger: log,
			Owner: access.owner(), Exclusive: access == holdTargets && selected[t.Name], Waiting: waiting.hook(t.Name)}
		var files []string
		if access == lookOnly {
			var err error
			if files, err = exporter.ExportedFiles(opts); err != nil {
				return nil, err
			}
		} else {
			e, err := exporter.New(opts)
			if err != nil {
				p.close()
				return nil, exporterError(cfg, t, err)
			}
			files = e.Files()
			p.exporters[t.Name] = e
		}
		for _, f := range files {
			p.outputs.add(filepath.Join(t.Output, filepath.FromSlash(f)))
		}
	}
	p.selected = targets
	for _, t := range targets {
		p.targets[t.Name] = t
	}
	rules, err := rulesFor(cfg)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	p.rules = rules
	p.live.Store(&liveState{cfg: cfg, targets: p.targets, rules: rules})
	return p, nil
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

// openProject does what build and up share: load devloop.yaml, select the targets,
// check the Dockerfile, connect to BuildKit and set up the exporters. close releases
// them all.
func (a *app) openProject(ctx context.Context, args []string, progress string, access targetAccess) (_ *project, close func(), err error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	targets, err := cfg.Select(args)
	if err != nil {
		return nil, nil, withCode(exitUsage, err)
	}
	printer, err := rebuild.NewPrinter(a.stderr, progress, len(targets) > 1)
	if err != nil {
		return nil, nil, withCode(exitUsage, fmt.Errorf("--progress: %w", err))
	}
	dfs := dockerfile.NewCache()
	if err := checkProject(cfg, targets, dfs, a.human()); err != nil {
		return nil, nil, withCode(exitUsage, err)
	}
	client, err := a.connect(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	proj, err := newProject(cfg, targets, a.log, access, a.human())
	if err != nil {
		_ = client.Close()
		return nil, nil, withCode(exitUsage, err)
	}
	proj.client, proj.printer, proj.versionOf, proj.dockerfiles = client, printer, client.DaemonVersion, dfs
	if proj.pinner, err = proj.newPinner(client); err != nil {
		proj.close()
		_ = client.Close()
		return nil, nil, err
	}
	return proj, func() {
		proj.close()
		_ = client.Close() // first: it ends a pin resolution in flight at once
		proj.pinner.Close()
	}, nil
}

func (p *project) targetNames() []string {
	names := make([]string, len(p.selected))
	for i, t := range p.selected {
		names[i] = t.Name
	}
	return names
}

func (a targetAccess) owner() string {
	if a == holdTargets {
		return "devloop up"
	}
	return "devloop build"
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
	w    func() io.Writer
	mu   sync.Mutex
	said map[string]bool
}

func newWaitNotices(w func() io.Writer) *waitNotices {
	return &waitNotices{w: w, said: map[string]bool{}}
}

// hook returns the exporter's Waiting hook for target.
func (n *waitNotices) hook(target string) func(holder string) {
	return func(holder string) {
		n.mu.Lock()
		defer n.mu.Unlock()
		w := n.w()
		if w == nil || n.said[target] {
			return
		}
		n.said[target] = true
		fmt.Fprintf(w, "[devloop] waiting for %s to finish exporting %s…\n", holder, target)
	}
}

// close releases the exporters' locks.
func (p *project) close() {
	for _, e := range p.exporters {
		_ = e.Close()
	}
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
func (p *project) excludes(rules *watcher.Rules) []string {
	ex := append(rules.ContextExcludes(), stagingPattern)
	for _, abs := range p.outputs.list() {
		if rel, ok := ospath.Child(p.cfg.Context, abs); ok {
			ex = append(ex, filepath.ToSlash(rel))
		}
	}
	return ex
}

// isOutput reports whether a changed path (slash-separated, relative to the context) is
// a file devloop exported or a directory holding one: such events are devloop's own
// writes, not the user's edits.
func (p *project) isOutput(rel string) bool {
	abs := filepath.Join(p.cfg.Context, filepath.FromSlash(rel))
	return p.outputs.hasOrContains(abs)
}

// Build implements loop.Builder.
func (p *project) Build(ctx context.Context, name string) (loop.Result, error) {
	live := p.live.Load()
	t, ok := live.targets[name]
	if !ok {
		return loop.Result{}, fmt.Errorf("build %s: unknown target", name)
	}
	st, err := p.exporters[name].Begin()
	if err != nil {
		return loop.Result{}, err
	}
	syntax, builtin := p.frontend(ctx, t)
	stats, err := p.client.Solve(ctx, rebuild.Request{
		Target:          t.Name,
		Stage:           t.Stage,
		Context:         p.cfg.Context,
		Dockerfile:      p.cfg.Dockerfile,
		BuildArgs:       t.BuildArgs,
		Excludes:        p.excludes(live.rules),
		Skip:            live.rules.NeverInContext,
		CacheFrom:       t.Cache.From,
		CacheTo:         t.Cache.To,
		Secrets:         secrets(live.cfg),
		Pins:            p.pinsFor(ctx, syntax),
		BuiltinFrontend: builtin,
		Dest:            st.Dir(),
	}, p.printer)
	if err != nil {
		_ = st.Discard()
		var ue *rebuild.UnreachableError
		if errors.As(err, &ue) {
			p.forgetBuilder()
			return loop.Result{}, fmt.Errorf("%w: %w", loop.ErrUnavailable, err)
		}
		return loop.Result{}, err
	}
	return loop.Result{Staged: &staged{p: p, t: t, st: st}, Solve: stats.Solve, Export: stats.Export}, nil
}

// pinsFor returns the digests of the Dockerfile's images (FROM and # syntax), resolving
// the ones not pinned yet: the first build of a session (and the first after the
// Dockerfile names a new image) asks the registry, every later build reuses the digest,
// so rebuilds make no registry round trip and keep working when the registry is down.
// The resolution runs in the background, shared by the builds that wait for it: a
// build superseded meanwhile returns at once (see rebuild.Pinner). Resolution failures
// are not fatal: the build then resolves images itself.
func (p *project) pinsFor(ctx context.Context, syntax string) rebuild.Pins {
	if !p.pin || p.pinner == nil {
		return nil
	}
	df, err := p.dockerfiles.Load(p.cfg.Dockerfile)
	if err != nil {
		return p.pinner.Known()
	}
	return p.pinner.Pins(ctx, df.ImageRefs(syntax))
}

// newPinner returns the session's pinner: it says what it pinned on notices and logs
// what it could not pin.
func (p *project) newPinner(r rebuild.Resolver) (*rebuild.Pinner, error) {
	return rebuild.NewPinner(rebuild.PinnerOptions{
		Resolver: r,
		Pinned: func(refs []string, pins rebuild.Pins) {
			if p.notices == nil {
				return
			}
			for _, r := range refs {
				fmt.Fprintf(p.notices, "[devloop] pinned %s@%s for this session\n", r, pins[r])
			}
		},
		Failed: func(refs []string, err error) {
			p.log.Warn("cannot pin base images; builds resolve them from the registry", zap.Error(err))
		},
	})
}

// frontend decides which Dockerfile frontend runs t's solve. It returns the frontend
// image that runs ("" for none) and whether the daemon's built-in frontend stands in
// for the one the Dockerfile names (builder.frontend: auto, see rebuild.BuiltinCovers):
// that skips starting the frontend image's container on every build. The first build
// that does so says it once.
func (p *project) frontend(ctx context.Context, t *config.Target) (syntax string, builtin bool) {
	cfg := p.cfg
	if live := p.live.Load(); live != nil { // builder.frontend can be reloaded
		cfg = live.cfg
	}
	syntax, err := p.dockerfiles.Syntax(cfg.Dockerfile, t.BuildArgs)
	if err != nil || syntax == "" || cfg.Builder.Frontend != config.FrontendAuto {
		return syntax, false // an unreadable Dockerfile fails in the solve, with its error
	}
	version, ok := p.builderVersion(ctx)
	if !ok || !rebuild.BuiltinCovers(syntax, version) {
		return syntax, false
	}
	p.frontendMu.Lock()
	announce := p.announced != syntax
	p.announced = syntax
	p.frontendMu.Unlock()
	if announce && p.notices != nil {
		fmt.Fprintf(p.notices, "[devloop] # syntax=%s: using the daemon's built-in Dockerfile frontend (BuildKit %s); builder.frontend: image runs the image instead\n", syntax, version)
	}
	return "", true
}

// builderVersion returns the daemon's BuildKit version, asked once (not under the
// lock: concurrent builds may both ask) and kept until forgetBuilder.
func (p *project) builderVersion(ctx context.Context) (string, bool) {
	p.frontendMu.Lock()
	v := p.daemonVersion
	p.frontendMu.Unlock()
	if v != "" {
		return v, true
	}
	v, err := p.versionOf(ctx)
	if err != nil || v == "" {
		p.log.Debug("daemon version unknown; running the syntax image", zap.Error(err))
		return "", false
	}
	p.frontendMu.Lock()
	p.daemonVersion = v
	p.frontendMu.Unlock()
	return v, true
}

// forgetBuilder drops what was learnt about the daemon: the one that comes back may
// be another version.
func (p *project) forgetBuilder() {
	p.frontendMu.Lock()
	p.daemonVersion = ""
	p.frontendMu.Unlock()
}

func secrets(cfg *config.Config) map[string]rebuild.Secret {
	if len(cfg.Secrets) == 0 {
		return nil
	}
	out := make(map[string]rebuild.Secret, len(cfg.Secrets))
	for k, s := range cfg.Secrets {
		out[k] = rebuild.Secret{File: s.File, Env: s.Env}
	}
	return out
}

// staged is one target's solved result waiting in its staging directory.
type staged struct {
	p  *project
	t  *config.Target
	st *exporter.Staging
}

// Commit implements loop.Staged. Before swapping, it records every staged file as a
// devloop output so the watcher ignores the swap and later solves exclude the files.
func (s *staged) Commit() (loop.Swap, error) {
	err := filepath.WalkDir(s.st.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(s.st.Dir(), path)
		if err != nil {
			return err
		}
		s.p.outputs.add(filepath.Join(s.t.Output, rel))
		return nil
	})
	if err != nil {
		return loop.Swap{}, fmt.Errorf("list staged files of %s: %w", s.t.Name, err)
	}
	res, err := s.st.Commit()
	if err != nil {
		return loop.Swap{}, err
	}
	rel := func(paths []string) []string {
		out := make([]string, len(paths))
		for i, f := range paths {
			out[i] = s.p.display(filepath.Join(s.t.Output, filepath.FromSlash(f)))
		}
		return out
	}
	return loop.Swap{Changed: rel(res.Changed), Unchanged: rel(res.Unchanged), Removed: rel(res.Removed)}, nil
}

// Discard implements loop.Staged.
func (s *staged) Discard() error { return s.st.Discard() }

// display shows an absolute path relative to the project directory.
func (p *project) display(abs string) string {
	if rel, ok := ospath.Child(p.cfg.Dir, abs); ok {
		return filepath.ToSlash(rel)
	}
	return abs
}

// supervisors are one supervisor per target with run:, by target (processes runs
// them: see reload.go).
type supervisors map[string]*supervisor.Supervisor

// pathSet is a concurrency-safe set of absolute paths.
type pathSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func newPathSet() *pathSet { return &pathSet{m: map[string]bool{}} }

func (s *pathSet) add(p string) {
	s.mu.Lock()
	s.m[filepath.Clean(p)] = true
	s.mu.Unlock()
}

func (s *pathSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.m))
}

// hasOrContains reports whether p is in the set or is a directory containing a member.
func (s *pathSet) hasOrContains(p string) bool {
	p = filepath.Clean(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[p] {
		return true
	}
	for q := range s.m {
		if _, ok := ospath.Child(p, q); ok {
			return true
		}
	}
	return false
}
