package project

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/containerd/platforms"
	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/dockerfile/golang"
	"github.com/devloop/devloop/godeps"
	"github.com/devloop/devloop/rebuild"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"go.uber.org/zap"
)

// targetInputs knows which context paths feed each target's build — the packages its
// go builds compile as `go list` answers for exactly their configuration (flags,
// environment, platform), what they embed, and the files its stages copy or read
// otherwise — so a change in a package only one target uses does not rebuild the
// others. A target whose inputs cannot be determined is affected by every change,
// and `devloop up` says why once.
//
// Inputs learnt before a change may miss what it did to the import graph (a new
// import of a package only another target used), so a batch of changes is judged
// with inputs learnt from files that include every earlier batch (changed records
// them as they arrive): if the refresh after the last build has not got that far,
// affects waits for one that has.
type targetInputs struct {
	platform    ocispecs.Platform // the daemon's default platform: a target's that names none
	dockerfiles *dockerfile.Cache
	lister      *godeps.Lister
	notices     io.Writer // human output
	log         *zap.Logger
	kick        chan struct{} // asks run for a refresh

	// narrow: Build sends each target only its inputs, and affects skips a narrowed
	// target a change cannot reach (see narrow.go).
	narrow bool

	mu        sync.Mutex
	cfg       *config.Config
	targets   []*config.Target
	cfgGen    int                         // counts reconfigure calls
	sets      map[string]*godeps.InputSet // target → its inputs; missing: unknown
	subsets   map[string]*narrowing       // target → the context its build reads; missing: the whole context
	printed   map[string]string           // target → the reason last printed
	pending   map[string]uint64           // changed paths (overflowPath for unknown ones) → sequence number when recorded
	seq       uint64                      // the last sequence number given
	refreshed bool                        // a refresh with the current config has completed
	doneSeq   uint64                      // the sequence number when the last completed refresh started
	updated   chan struct{}               // closed and replaced when a refresh completes
	stopped   bool                        // run has returned: no refresh will come
}

func newTargetInputs(cfg *config.Config, targets []*config.Target, platform ocispecs.Platform, dfs *dockerfile.Cache, notices io.Writer, log *zap.Logger) *targetInputs {
	return &targetInputs{
		cfg: cfg, targets: targets, platform: platform, dockerfiles: dfs, lister: godeps.NewLister(), notices: notices, log: log,
		kick: make(chan struct{}, 1), sets: map[string]*godeps.InputSet{}, subsets: map[string]*narrowing{}, printed: map[string]string{},
		pending: map[string]uint64{}, updated: make(chan struct{}),
	}
}

// overflowPath stands for changes the watcher lost.
const overflowPath = "\x00overflow"

// changed records a batch of changed paths as it arrives, before the loop asks
// affects about it; overflow means changes were lost, which any later batch must be
// judged after.
func (ti *targetInputs) changed(paths []string, overflow bool) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	for _, p := range paths {
		ti.seq++
		ti.pending[p] = ti.seq
	}
	if overflow {
		ti.seq++
		ti.pending[overflowPath] = ti.seq
	}
}

// reconfigure makes refreshes use a reloaded devloop.yaml (build args, stages);
// until one has completed, affects waits for it.
func (ti *targetInputs) reconfigure(cfg *config.Config, targets []*config.Target) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.cfg, ti.targets, ti.refreshed = cfg, targets, false
	ti.cfgGen++
}

// run refreshes the inputs on every signal of refresh, and whenever affects needs
// fresher ones, until ctx ends.
func (ti *targetInputs) run(ctx context.Context, refresh <-chan struct{}) error {
	defer func() {
		ti.mu.Lock()
		ti.stopped = true
		close(ti.updated)
		ti.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-refresh:
		case <-ti.kick:
		}
		ti.refresh(ctx)
	}
}

// refresh recomputes every target's inputs from the Dockerfile and `go list`, and
// prints, once per reason, why a target's inputs are unknown.
func (ti *targetInputs) refresh(ctx context.Context) {
	ti.mu.Lock()
	start, gen, cfg, targets := ti.seq, ti.cfgGen, ti.cfg, ti.targets
	ti.mu.Unlock()

	df, dfErr := ti.dockerfiles.Load(cfg.Dockerfile)
	next := map[string]*godeps.InputSet{}
	subsets := map[string]*narrowing{}
	reasons := map[string]string{}
	cache := map[string]godepsResult{}
	// go list may download modules the host lacks; a refresh must end, and a target
	// it could not answer for is simply unknown.
	lctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	for _, t := range targets {
		set, n, reason := ti.inputsOf(lctx, cfg, df, dfErr, t, cache)
		if ctx.Err() != nil {
			return // shutting down: a half-done answer is no answer
		}
		if reason != "" {
			reasons[t.Name] = reason
			ti.log.Debug("target inputs unknown", zap.String("target", t.Name), zap.String("reason", reason))
			continue
		}
		next[t.Name], subsets[t.Name] = set, n
	}

	ti.mu.Lock()
	close(ti.updated) // waiters look again
	ti.updated = make(chan struct{})
	if gen != ti.cfgGen {
		ti.mu.Unlock()
		return // learnt with a config reloaded since: the next refresh counts
	}
	ti.sets, ti.subsets = next, subsets
	for p, s := range ti.pending {
		if s <= start {
			delete(ti.pending, p)
		}
	}
	ti.refreshed, ti.doneSeq = true, start
	var lines []string
	for _, t := range targets {
		r := reasons[t.Name]
		if r != "" && r != ti.printed[t.Name] {
			lines = append(lines, fmt.Sprintf("[devloop] %s: inputs unknown (%s): every change rebuilds it", t.Name, r))
		}
		ti.printed[t.Name] = r
	}
	ti.mu.Unlock()
	for _, l := range lines {
		fmt.Fprintln(ti.notices, l)
	}
}

// refreshTimeout bounds one refresh of every target's inputs.
const refreshTimeout = 2 * time.Minute

type godepsResult struct {
	in  godeps.Inputs
	err error
}

// inputsOf learns target t's inputs and the context its build reads; reason says why
// they are unknown. A target with only: in devloop.yaml reads what it lists.
func (ti *targetInputs) inputsOf(ctx context.Context, cfg *config.Config, df *dockerfile.Dockerfile, dfErr error, t *config.Target, cache map[string]godepsResult) (*godeps.InputSet, *narrowing, string) {
	if len(t.Only) > 0 {
		return godeps.NewInputSet(t.Only...), &narrowing{subset: rebuild.Subset{Trees: slices.Clone(t.Only)}}, ""
	}
	if dfErr != nil {
		return nil, nil, dfErr.Error()
	}
	target, err := df.TargetStage(stageRef(cfg, t))
	if err != nil {
		return nil, nil, err.Error()
	}
	// One answer per platform the target builds for: GOOS and GOARCH (and the files
	// their names rule out) are the platform's, as the Dockerfile passes them on.
	plats := []ocispecs.Platform{ti.platform}
	if len(t.Platforms) > 0 {
		plats = plats[:0]
		for _, s := range t.Platforms {
			pl, err := platforms.Parse(s)
			if err != nil {
				return nil, nil, fmt.Sprintf("platform %s: %v", s, err)
			}
			plats = append(plats, platforms.Normalize(pl))
		}
	}
	set := godeps.NewInputSet()
	// The narrowed context is what every platform's solve reads; nil (the whole
	// context) when one of them is unknown.
	n := &narrowing{}
	for _, pl := range plats {
		if reason := ti.addInputs(ctx, cfg, df, t, target, pl, set, &n, cache); reason != "" {
			return nil, nil, reason
		}
	}
	return set, n, ""
}

// addInputs adds to set what building t (its stage target) for platform pl reads,
// and to *n what its solve reads (*n becomes nil when that is unknown); reason says
// why the inputs are unknown.
func (ti *targetInputs) addInputs(ctx context.Context, cfg *config.Config, df *dockerfile.Dockerfile, t *config.Target, target dockerfile.Target, pl ocispecs.Platform, set *godeps.InputSet, n **narrowing, cache map[string]godepsResult) (reason string) {
	in, err := golang.InputsOf(df, golang.Options{
		Stage: target.Frontend, Context: cfg.Context, BuildArgs: t.BuildArgs, Platform: pl, BuildPlatform: ti.platform,
	})
	if err != nil {
		return err.Error()
	}
	set.AddTrees(in.Reads...)
	for _, b := range in.Go {
		for _, env := range b.Configs() {
			r := ti.goInputs(ctx, cfg, b, env, cache)
			if r.err != nil {
				return fmt.Sprintf("%s:%d: %v", filepath.Base(df.Path), b.Line, r.err)
			}
			set.Add(r.in)
			if ce := ti.log.Check(zap.DebugLevel, "target inputs: go build resolved"); ce != nil {
				ce.Write(zap.String("target", t.Name), zap.String("build", fmt.Sprintf("%s:%d: %s", filepath.Base(df.Path), b.Line, b.Command)),
					zap.Strings("patterns", b.Patterns), zap.Any("env", env), zap.Strings("packages", r.in.Dirs), zap.Strings("trees", r.in.Trees))
			}
		}
	}
	ti.log.Debug("target inputs", zap.String("target", t.Name), zap.String("stage", df.StageName(target.Index)),
		zap.String("platform", platforms.Format(pl)), zap.Int("go builds", len(in.Go)), zap.Strings("reads", in.Reads))
	*n = ti.addSolve(ctx, cfg, *n, in.Solve, cache)
	return ""
}

// addSolve adds to n what a solve reads (see golang.Inputs.Solve): the go builds of
// other executables in the same stages too, which must compile. It returns nil, the
// whole context, when n is nil or what the solve reads is unknown.
func (ti *targetInputs) addSolve(ctx context.Context, cfg *config.Config, n *narrowing, solve *golang.Solve, cache map[string]godepsResult) *narrowing {
	if n == nil || solve == nil {
		return nil
	}
	n.subset.Trees = append(n.subset.Trees, solve.Reads...)
	for _, b := range solve.Go {
		n.addBuild(cfg.Context, b.Dir, b.GoMod)
		for _, env := range b.Configs() {
			r := ti.goInputs(ctx, cfg, b, env, cache)
			if r.err != nil {
				return nil
			}
			n.add(r.in)
		}
	}
	return n
}

// goInputs asks go list, once per refresh, what go build b reads in configuration env.
func (ti *targetInputs) goInputs(ctx context.Context, cfg *config.Config, b golang.Build, env map[string]string, cache map[string]godepsResult) godepsResult {
	q := godeps.Query{
		Root: cfg.Context, Dir: b.Dir, Patterns: b.Patterns, Flags: b.Flags, Env: env,
		GoMod: b.GoMod, GoWork: b.GoWork,
	}
	key := fmt.Sprintf("%#v", q)
	r, ok := cache[key]
	if !ok {
		r.in, r.err = ti.lister.Inputs(ctx, q)
		cache[key] = r
	}
	return r
}

// affects implements loop.Options.Affects with inputs learnt after every earlier
// change (see godeps.Affects for the decision). A narrowed target (see narrow.go) is
// affected only by a change in the context its build reads, judged with inputs that
// hold after this change too, and that godeps.Affects says reaches it. The loop asks
// once per target for the same paths, which changed has recorded.
func (ti *targetInputs) affects(target string, paths []string) bool {
	batch := make(map[string]bool, len(paths))
	for _, p := range paths {
		batch[p] = true
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	for !ti.stopped {
		var needed uint64 // the last earlier change the inputs must have seen
		for p, s := range ti.pending {
			if !batch[p] && s > needed {
				needed = s
			}
		}
		if ti.refreshed && ti.doneSeq >= needed {
			break
		}
		if ti.refreshed {
			// Earlier changes that leave every go list answer holding (a data file,
			// the body of a function) need no new answer.
			holds, _, retry := ti.answersHoldLocked(ti.allAnswers(), func(p string) bool { return !batch[p] })
			if retry {
				continue
			}
			if holds {
				break
			}
		}
		updated := ti.updated
		ti.mu.Unlock()
		select {
		case ti.kick <- struct{}{}:
		default: // a refresh is already asked for
		}
		<-updated
		ti.mu.Lock()
	}
	// The narrowed context holds what the whole solve reads, which may be more than
	// reaches the target (another executable built beside its own): a change must be
	// in both to rebuild it.
	if ti.narrow {
		if affected, ok := ti.narrowedAffectsLocked(target, paths); ok && !affected {
			return false
		}
	}
	return godeps.Affects(ti.sets, target, paths)
}
