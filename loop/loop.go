package loop

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultMaxWait is Options.MaxWait when it is zero.
const DefaultMaxWait = 2 * time.Second

// ErrUnavailable is wrapped by Builder errors when the builder (BuildKit daemon)
// cannot be reached. The loop keeps processes running and retries with backoff.
var ErrUnavailable = errors.New("builder unavailable")

// ErrSuperseded is the context.Cause of a build cancelled because newer changes
// arrived (PolicyRestart).
var ErrSuperseded = errors.New("superseded by newer changes")

// Builder solves one target into a private staging dir. It must honour ctx
// cancellation and return a non-nil Result.Staged exactly when err is nil.
type Builder interface {
	Build(ctx context.Context, target string) (Result, error)
}

// Result is a successful solve of one target.
type Result struct {
	// Staged is the target's exported output, not yet visible in the output dir.
	Staged Staged
	// Solve and Export are measured by the builder; Export is BuildKit writing into
	// the staging dir.
	Solve, Export time.Duration
}

// Staged is a target's output waiting in a staging dir.
type Staged interface {
	// Commit verifies the staged files and atomically swaps them into the output dir.
	Commit() (Swap, error)
	// Discard removes the staging dir. It is idempotent and safe after Commit.
	Discard() error
}

// Swap reports what a Commit did to the output dir, as paths relative to it.
type Swap struct {
	Changed, Unchanged, Removed []string
	// Executables are the files of Changed with an execute bit.
	Executables []string
}

// Restarter (re)starts the process that runs a target's binary.
type Restarter interface {
	// Restart starts the target's process if it is not running, else stops it
	// (waiting for exit) and starts the new binary.
	Restart(ctx context.Context, target string) error
}

// Change is one debounced batch of file-system changes.
type Change struct {
	// Paths changed, relative to the build context.
	Paths []string
	// Overflow means events were lost and Paths is incomplete: every target is built.
	Overflow bool
	// First and Last are when the batch's first and last events were seen.
	First, Last time.Time
}

// Policy says what a change arriving during a build does (devloop.yaml on_busy).
type Policy int

const (
	// PolicyQueue lets the running build finish, then runs exactly one follow-up
	// build with all changes that arrived meanwhile.
	PolicyQueue Policy = iota
	// PolicyRestart cancels the running build if it is still solving and starts a
	// new one covering its changes and the new ones. A build that is already
	// committing or restarting finishes, and the change is queued. So does a build
	// whose oldest change has waited the cancel window (see the package doc): a
	// steady stream of changes cannot cancel builds forever.
	PolicyRestart
)

// ParsePolicy parses "queue" or "restart".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "queue":
		return PolicyQueue, nil
	case "restart":
		return PolicyRestart, nil
	}
	return 0, fmt.Errorf("parse on_busy policy %q: want \"queue\" or \"restart\"", s)
}

// String returns the policy's devloop.yaml spelling.
func (p Policy) String() string {
	switch p {
	case PolicyQueue:
		return "queue"
	case PolicyRestart:
		return "restart"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// Backoff is the retry schedule while the builder is unavailable: the first retry
// waits Initial, each further consecutive failure doubles the wait, up to Max.
type Backoff struct {
	Initial time.Duration // zero → 1s
	Max     time.Duration // zero → 30s
}

// delay returns the wait before retry number n (0-based).
func (b Backoff) delay(n int) time.Duration {
	d := b.Initial
	for range n {
		if d >= b.Max/2 {
			return b.Max
		}
		d *= 2
	}
	return min(d, b.Max)
}

// Options configures a Loop.
type Options struct {
	// Targets are all targets, in order; commits and restarts follow this order.
	Targets []string
	// Run marks the targets that have a process to (re)start.
	Run map[string]bool
	// Program, if set, is the file of a Run target's output its process runs, named
	// as Swap's paths name files; "" when the process does not run one of the target's files
	// (a command on PATH, a script elsewhere). A swap whose changes are only other
	// executables (a CLI beside the server in a binaries stage) does not restart the
	// process; any other change, or any change when the program is unknown, does.
	Program func(target string) string
	// Policy decides what a change during a build does.
	Policy Policy
	// Builder solves targets. Required.
	Builder Builder
	// Restarter restarts processes. It may be nil when no target has run:.
	Restarter Restarter
	// Events receives progress events synchronously. Calls never overlap, but may
	// come from different goroutines; it must not call back into the Loop.
	Events func(Event)
	// Logger receives debug logs; nil disables logging.
	Logger *zap.Logger
	// Retry is the backoff after ErrUnavailable; zero fields take the defaults.
	Retry Backoff
	// MaxWait is devloop.yaml's watch.max_wait: under PolicyRestart a change
	// stops cancelling the running build once the build's oldest change has waited
	// max(MaxWait, the last solve phase's duration). Zero means DefaultMaxWait.
	MaxWait time.Duration
	// Affects reports whether a change to paths affects target. Nil means every
	// change affects every target. The initial build and overflowed changes
	// always build every target. It is called from Run's goroutine.
	Affects func(target string, paths []string) bool
}

// Loop runs builds of Options.Targets in response to changes. Create it with New.
type Loop struct {
	opts Options
	log  *zap.Logger

	emitMu sync.Mutex // serialises calls to opts.Events
}

// New validates opts and returns a Loop.
func New(opts Options) (*Loop, error) {
	if opts.Builder == nil {
		return nil, errors.New("new loop: Builder is nil")
	}
	if len(opts.Targets) == 0 {
		return nil, errors.New("new loop: no targets")
	}
	known := make(map[string]bool, len(opts.Targets))
	for _, t := range opts.Targets {
		if t == "" {
			return nil, errors.New("new loop: empty target name")
		}
		if known[t] {
			return nil, fmt.Errorf("new loop: duplicate target %q", t)
		}
		known[t] = true
	}
	for _, t := range slices.Sorted(maps.Keys(opts.Run)) {
		if !opts.Run[t] {
			continue
		}
		if !known[t] {
			return nil, fmt.Errorf("new loop: run target %q is not in Targets", t)
		}
		if opts.Restarter == nil {
			return nil, fmt.Errorf("new loop: target %q has run: but Restarter is nil", t)
		}
	}
	if opts.Policy != PolicyQueue && opts.Policy != PolicyRestart {
		return nil, fmt.Errorf("new loop: invalid policy %v", opts.Policy)
	}
	if opts.MaxWait < 0 {
		return nil, fmt.Errorf("new loop: negative max wait %v", opts.MaxWait)
	}
	if opts.MaxWait == 0 {
		opts.MaxWait = DefaultMaxWait
	}
	if opts.Retry.Initial < 0 || opts.Retry.Max < 0 {
		return nil, fmt.Errorf("new loop: negative retry backoff %+v", opts.Retry)
	}
	if opts.Retry.Initial == 0 {
		opts.Retry.Initial = time.Second
	}
	if opts.Retry.Max == 0 {
		opts.Retry.Max = 30 * time.Second
	}
	if opts.Retry.Max < opts.Retry.Initial {
		return nil, fmt.Errorf("new loop: retry max %v is less than initial %v", opts.Retry.Max, opts.Retry.Initial)
	}
	if opts.Events == nil {
		opts.Events = func(Event) {}
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Loop{opts: opts, log: log.Named("loop")}, nil
}

// Run performs the initial build of every target, (re)starts the run: processes of
// targets whose build succeeded, then processes changes until ctx is done. A failed
// initial build does not end Run: the next change retries. When ctx is done, Run
// cancels the running build, waits for it, discards its staged results and returns
// nil. If changes is closed, Run stops reading it and carries on until ctx is done.
// Run must not be called concurrently with itself or Once.
func (l *Loop) Run(ctx context.Context, changes <-chan Change) error {
	s := &runState{l: l, done: make(chan outcome), started: make(map[string]bool)}
	defer s.wg.Wait()
	defer s.stopRetry()

	s.start(ctx, &batch{all: true}, ReasonInitial)
	for {
		var retry <-chan time.Time
		if s.retry != nil {
			retry = s.retry.C
		}
		select {
		case <-ctx.Done():
			l.log.Debug("shutting down", zap.Bool("building", s.cur != nil))
			return nil
		case c, ok := <-changes:
			if !ok {
				l.log.Debug("change stream closed")
				changes = nil
				continue
			}
			s.change(ctx, c)
		case <-retry:
			s.retry = nil
			b := s.pending
			s.pending = nil
			s.start(ctx, b, ReasonRetry)
		case o := <-s.done:
			s.finished(ctx, o)
		}
	}
}

// runState is the state owned by Run's goroutine.
type runState struct {
	l       *Loop
	wg      sync.WaitGroup // job goroutines
	done    chan outcome   // job → Run: the job ended
	cur     *job           // running job, nil when idle
	pending *batch         // changes not covered by cur; nil when none
	seq     int            // last job ID
	attempt int            // consecutive ErrUnavailable failures
	retry   *time.Timer    // backoff timer while waiting to retry pending
	started map[string]bool

	// lastSolve is the solve phase of the last job that got past it.
	lastSolve time.Duration
}

// start starts a job for b unless shutting down or no target is affected.
func (s *runState) start(ctx context.Context, b *batch, reason Reason) {
	l := s.l
	if ctx.Err() != nil {
		return
	}
	need := make(map[string]bool)
	for _, t := range l.opts.Targets {
		if l.opts.Run[t] && !s.started[t] {
			need[t] = true
		}
	}
	j := l.newJob(s.seq+1, b, reason, need)
	if j == nil {
		return
	}
	s.seq++
	solveCtx, cancel := context.WithCancelCause(ctx)
	j.cancel = cancel
	s.cur = j
	s.wg.Go(func() {
		defer cancel(nil)
		o := l.execute(ctx, solveCtx, j)
		select {
		case s.done <- o:
		case <-ctx.Done():
		}
	})
}

// change handles a change arriving from the watcher.
func (s *runState) change(ctx context.Context, c Change) {
	l := s.l
	now := time.Now()
	l.emit(ChangeDetected{Paths: c.Paths, Overflow: c.Overflow, Time: now})
	s.pending = merge(s.pending, changeBatch(c, now))
	switch {
	case s.cur == nil:
		// Idle, or waiting to retry an unavailable builder: try now.
		s.stopRetry()
		b := s.pending
		s.pending = nil
		s.start(ctx, b, ReasonChange)
	case l.opts.Policy == PolicyRestart && s.mayCancel(now) && s.cur.supersede():
		l.log.Debug("build superseded", zap.Int("id", s.cur.id))
		l.emit(BuildSuperseded{ID: s.cur.id})
	default:
		l.log.Debug("change queued", zap.Int("running", s.cur.id), zap.Int("pending_paths", len(s.pending.paths)))
	}
}

// cancelWindow is how long the oldest change a build covers may have waited for the
// build to still be cancelled by newer changes under PolicyRestart.
func (s *runState) cancelWindow() time.Duration {
	return max(s.l.opts.MaxWait, s.lastSolve)
}

// mayCancel reports whether a change arriving at now may cancel the running build:
// only while the oldest change it covers is younger than the cancel window. The
// initial build covers no change and may always be cancelled.
func (s *runState) mayCancel(now time.Time) bool {
	first := s.cur.batch.first
	if first.IsZero() || now.Sub(first) < s.cancelWindow() {
		return true
	}
	s.l.log.Debug("build let finish: its oldest change waited the cancel window",
		zap.Int("id", s.cur.id), zap.Duration("waited", now.Sub(first)), zap.Duration("window", s.cancelWindow()))
	return false
}

// finished handles the end of the running job.
func (s *runState) finished(ctx context.Context, o outcome) {
	l := s.l
	s.cur = nil
	if o.solveTime > 0 {
		s.lastSolve = o.solveTime
	}
	for _, t := range o.started {
		s.started[t] = true
	}
	switch {
	case o.superseded:
		s.pending = merge(o.job.batch, s.pending)
	case o.unavailable != nil:
		s.pending = merge(o.job.batch, s.pending)
		d := l.opts.Retry.delay(s.attempt)
		s.attempt++
		l.emit(BuilderUnavailable{Err: o.unavailable, RetryIn: d, Attempt: s.attempt})
		s.retry = time.NewTimer(d)
		return
	default:
		s.attempt = 0
	}
	if s.pending != nil {
		b := s.pending
		s.pending = nil
		s.start(ctx, b, ReasonChange)
	}
}

func (s *runState) stopRetry() {
	if s.retry != nil {
		s.retry.Stop()
		s.retry = nil
	}
}

// Once runs exactly one build of every target: solve, commit, and restart the run:
// processes if a Restarter is set. ok reports whether every target was built and
// committed and every restart succeeded. err is non-nil only when the build could
// not be carried out: it wraps ErrUnavailable when the builder cannot be reached, or
// the cause of ctx when it was interrupted.
func (l *Loop) Once(ctx context.Context) (ok bool, err error) {
	need := make(map[string]bool)
	for _, t := range l.opts.Targets {
		need[t] = l.opts.Run[t]
	}
	j := l.newJob(1, &batch{all: true}, ReasonInitial, need)
	o := l.execute(ctx, ctx, j)
	switch {
	case o.canceled:
		return false, fmt.Errorf("build interrupted: %w", context.Cause(ctx))
	case o.unavailable != nil:
		return false, o.unavailable
	}
	return o.ok && !o.restartFailed, nil
}

func (l *Loop) emit(e Event) {
	l.emitMu.Lock()
	defer l.emitMu.Unlock()
	l.opts.Events(e)
}
