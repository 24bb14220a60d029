package loop

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// batch is the merged set of changes one job builds.
type batch struct {
	paths []string  // sorted, unique
	all   bool      // build every target regardless of Affects (initial build or overflow)
	first time.Time // earliest Change.First; zero for the initial build
}

func changeBatch(c Change, now time.Time) *batch {
	first := c.First
	if first.IsZero() {
		first = now
	}
	return &batch{paths: sortedUnique(slices.Clone(c.Paths)), all: c.Overflow, first: first}
}

// merge returns the union of a and b; either may be nil.
func merge(a, b *batch) *batch {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	first := a.first
	if first.IsZero() || (!b.first.IsZero() && b.first.Before(first)) {
		first = b.first
	}
	return &batch{
		paths: sortedUnique(append(slices.Clone(a.paths), b.paths...)),
		all:   a.all || b.all,
		first: first,
	}
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// job is one build: solve, commit, restart.
type job struct {
	id        int
	reason    Reason
	batch     *batch
	targets   []string        // affected targets, in Options.Targets order
	needStart map[string]bool // run: targets never started: start even if unchanged
	start     time.Time

	mu         sync.Mutex
	cancel     context.CancelCauseFunc // cancels the solve phase; nil in Once
	committing bool                    // past the solve phase: no longer supersedable
	superseded bool
}

// supersede cancels the job with ErrSuperseded if it is still solving. It reports
// whether it did; it returns false for a job already superseded.
func (j *job) supersede() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.committing || j.superseded {
		return false
	}
	j.superseded = true
	j.cancel(ErrSuperseded)
	return true
}

// enterCommit ends the solve phase: it returns nil if the job may commit, after which
// it can no longer be superseded, or ErrSuperseded or ctx's error if it may not.
func (j *job) enterCommit(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.superseded {
		return ErrSuperseded
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	j.committing = true
	return nil
}

// outcome is what a finished job reports to Run.
type outcome struct {
	job           *job
	ok            bool     // every target built and committed
	restartFailed bool     // some Restart returned an error
	superseded    bool     // cancelled by newer changes; nothing committed
	canceled      bool     // interrupted by shutdown
	unavailable   error    // a target's error wrapping ErrUnavailable
	started       []string // run: targets whose Restart succeeded

	// solveTime is from the start to the end of the solve phase; zero if it was cut short.
	solveTime time.Duration
}

// solved is one target's phase-1 result.
type solved struct {
	res Result
	err error
}

// newJob selects the targets b affects and emits BuildStarted, or emits Skipped
// and returns nil if there are none.
func (l *Loop) newJob(id int, b *batch, reason Reason, needStart map[string]bool) *job {
	var targets, skipped []string
	for _, t := range l.opts.Targets {
		if b.all || l.opts.Affects == nil || l.opts.Affects(t, b.paths) {
			targets = append(targets, t)
		} else {
			skipped = append(skipped, t)
		}
	}
	if len(targets) == 0 {
		l.log.Debug("no target affected", zap.Strings("paths", b.paths))
		l.emit(Skipped{Paths: b.paths})
		return nil
	}
	j := &job{id: id, reason: reason, batch: b, targets: targets, needStart: needStart, start: time.Now()}
	l.log.Debug("build started", zap.Int("id", id), zap.String("reason", string(reason)),
		zap.Strings("targets", targets), zap.Strings("skipped", skipped), zap.Int("paths", len(b.paths)))
	l.emit(BuildStarted{ID: id, Targets: targets, Skipped: skipped, Paths: b.paths, Reason: reason, Time: j.start})
	return j
}

// execute runs j's three phases. solveCtx (ctx or a child of it) cancels the solve
// phase only; ctx (shutdown) also stops committing and restarting.
func (l *Loop) execute(ctx, solveCtx context.Context, j *job) outcome {
	o := outcome{job: j}
	fin := BuildFinished{ID: j.id, Targets: j.targets, Paths: j.batch.paths}
	if !j.batch.first.IsZero() {
		fin.Wait = j.start.Sub(j.batch.first)
	}
	defer func() {
		fin.Duration = time.Since(j.start)
		l.log.Debug("build finished", zap.Int("id", j.id), zap.Bool("ok", fin.OK),
			zap.Bool("superseded", fin.Superseded), zap.Bool("canceled", fin.Canceled), zap.Duration("duration", fin.Duration))
		l.emit(fin)
	}()

	// Phase 1: solve.
	results := l.solve(solveCtx, j)
	for _, r := range results {
		fin.Solve = max(fin.Solve, r.res.Solve)
		fin.Export = max(fin.Export, r.res.Export)
	}
	if err := j.enterCommit(ctx); err != nil {
		for i, r := range results {
			if r.err == nil {
				l.discard(j.targets[i], r.res.Staged)
			}
		}
		o.superseded = errors.Is(err, ErrSuperseded)
		o.canceled = !o.superseded
		fin.Superseded, fin.Canceled = o.superseded, o.canceled
		return o
	}
	o.solveTime = time.Since(j.start)

	// Phase 2: commit in target order.
	swaps := make(map[string]Swap)
	for i, t := range j.targets {
		r := results[i]
		if r.err != nil {
			fin.Failed = append(fin.Failed, t)
			if o.unavailable == nil && errors.Is(r.err, ErrUnavailable) {
				o.unavailable = r.err
			}
			continue
		}
		if ctx.Err() != nil {
			l.discard(t, r.res.Staged)
			o.canceled = true
			continue
		}
		t0 := time.Now()
		swap, err := r.res.Staged.Commit()
		d := time.Since(t0)
		fin.Swap += d
		l.discard(t, r.res.Staged)
		ev := TargetFinished{ID: j.id, Target: t, OK: err == nil, Solve: r.res.Solve, Export: r.res.Export, Swap: d}
		if err != nil {
			ev.Err = fmt.Errorf("commit %s: %w", t, err)
			fin.Failed = append(fin.Failed, t)
		} else {
			ev.Changed, ev.Unchanged, ev.Removed, ev.Executables = swap.Changed, swap.Unchanged, swap.Removed, swap.Executables
			swaps[t] = swap
		}
		l.emit(ev)
	}

	// Phase 3: restart processes whose binaries changed or never started.
	for _, t := range j.targets {
		swap, ok := swaps[t]
		if !l.opts.Run[t] || !ok || (!j.needStart[t] && !l.restarts(t, swap)) {
			continue
		}
		if ctx.Err() != nil {
			o.canceled = true
			continue
		}
		t0 := time.Now()
		err := l.opts.Restarter.Restart(ctx, t)
		d := time.Since(t0)
		fin.Restart += d
		if err != nil && ctx.Err() != nil {
			// Shutdown (Ctrl-C) interrupted it, whatever error the restarter
			// gives for that: the build is cancelled, the restart did not fail.
			o.canceled = true
			continue
		}
		l.emit(Restarted{ID: j.id, Target: t, Duration: d, Err: err})
		if err != nil {
			o.restartFailed = true
			continue
		}
		o.started = append(o.started, t)
	}
	o.ok = len(fin.Failed) == 0 && !o.canceled
	fin.OK, fin.Canceled = o.ok, o.canceled
	return o
}

// solve builds every target of j concurrently. A target that fails for a reason
// other than ctx being cancelled is reported at once with TargetFinished.
func (l *Loop) solve(ctx context.Context, j *job) []solved {
	results := make([]solved, len(j.targets))
	var wg sync.WaitGroup
	for i, t := range j.targets {
		wg.Go(func() {
			res, err := l.opts.Builder.Build(ctx, t)
			if err == nil && res.Staged == nil {
				err = fmt.Errorf("build %s: builder returned no staged output", t)
			}
			results[i] = solved{res: res, err: err}
			if err != nil && ctx.Err() == nil {
				l.emit(TargetFinished{ID: j.id, Target: t, Err: err, Solve: res.Solve, Export: res.Export})
			}
		})
	}
	wg.Wait()
	return results
}

func (l *Loop) discard(target string, s Staged) {
	if err := s.Discard(); err != nil {
		l.log.Warn("discard staged output", zap.String("target", target), zap.Error(err))
	}
}

// restarts says whether swap changed what t's process runs: its program, or a file
// that is not an executable (data it may read), or anything at all when its program
// is unknown.
func (l *Loop) restarts(t string, swap Swap) bool {
	if len(swap.Changed) == 0 {
		return false
	}
	prog := ""
	if l.opts.Program != nil {
		prog = l.opts.Program(t)
	}
	if prog == "" {
		return true
	}
	for _, c := range swap.Changed {
		if c == prog || c == prog+".exe" || !slices.Contains(swap.Executables, c) {
			return true
		}
	}
	return false
}
