package project

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/platforms"
	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/dockerfile/golang"
	"github.com/devloop/devloop/godeps"
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

	mu        sync.Mutex
	cfg       *config.Config
	targets   []*config.Target
	cfgGen    int                         // counts reconfigure calls
	sets      map[string]*godeps.InputSet // target → its inputs; missing: unknown
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
		kick: make(chan struct{}, 1), sets: map[string]*godeps.InputSet{}, printed: map[string]string{},
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
	reasons := map[string]string{}
	cache := map[string]godepsResult{}
	// go list may download modules the host lacks; a refresh must end, and a target
	// it could not answer for is simply unknown.
	lctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	for _, t := range targets {
		set, reason := ti.inputsOf(lctx, cfg, df, dfErr, t, cache)
		if ctx.Err() != nil {
			return // shutting down: a half-done answer is no answer
		}
		if reason != "" {
			reasons[t.Name] = reason
			ti.log.Debug("target inputs unknown", zap.String("target", t.Name), zap.String("reason", reason))
			continue
		}
		next[t.Name] = set
	}

	ti.mu.Lock()
	close(ti.updated) // waiters look again
	ti.updated = make(chan struct{})
	if gen != ti.cfgGen {
		ti.mu.Unlock()
		return // learnt with a config reloaded since: the next refresh counts
	}
	ti.sets = next
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

// inputsOf learns target t's inputs; reason says why they are unknown.
func (ti *targetInputs) inputsOf(ctx context.Context, cfg *config.Config, df *dockerfile.Dockerfile, dfErr error, t *config.Target, cache map[string]godepsResult) (*godeps.InputSet, string) {
	if dfErr != nil {
		return nil, dfErr.Error()
	}
	target, err := df.TargetStage(stageRef(cfg, t))
	if err != nil {
		return nil, err.Error()
	}
	// One answer per platform the target builds for: GOOS and GOARCH (and the files
	// their names rule out) are the platform's, as the Dockerfile passes them on.
	plats := []ocispecs.Platform{ti.platform}
	if len(t.Platforms) > 0 {
		plats = plats[:0]
		for _, s := range t.Platforms {
			pl, err := platforms.Parse(s)
			if err != nil {
				return nil, fmt.Sprintf("platform %s: %v", s, err)
			}
			plats = append(plats, platforms.Normalize(pl))
		}
	}
	set := godeps.NewInputSet()
	for _, pl := range plats {
		if reason := ti.addInputs(ctx, cfg, df, t, target, pl, set, cache); reason != "" {
			return nil, reason
		}
	}
	return set, ""
}

// addInputs adds to set what building t (its stage target) for platform pl reads;
// reason says why that is unknown.
func (ti *targetInputs) addInputs(ctx context.Context, cfg *config.Config, df *dockerfile.Dockerfile, t *config.Target, target dockerfile.Target, pl ocispecs.Platform, set *godeps.InputSet, cache map[string]godepsResult) (reason string) {
	in, err := golang.InputsOf(df, golang.Options{
		Stage: target.Frontend, Context: cfg.Context, BuildArgs: t.BuildArgs, Platform: pl, BuildPlatform: ti.platform,
	})
	if err != nil {
		return err.Error()
	}
	set.AddTrees(in.Reads...)
	for _, b := range in.Go {
		for _, env := range b.Configs() {
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
	return ""
}

// affects implements loop.Options.Affects with inputs learnt after every earlier
// change (see godeps.Affects for the decision). The loop asks once per target for the
// same paths, which changed has recorded.
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
		updated := ti.updated
		ti.mu.Unlock()
		select {
		case ti.kick <- struct{}{}:
		default: // a refresh is already asked for
		}
		<-updated
		ti.mu.Lock()
	}
	return godeps.Affects(ti.sets, target, paths)
}
