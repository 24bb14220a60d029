package loop_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devloop/devloop/loop"
)

// world is a fake Builder and Restarter over a source tree whose "version" is the
// number of edits made so far. Builds record the version they saw when they started;
// commits record the version they put into place.
type world struct {
	mu         sync.Mutex
	version    int
	calls      []*buildCall
	staged     []*fakeStaged
	active     map[string]int // running Build calls per target
	overlap    bool           // a target was solved twice at once
	committed  map[string]int // target → version in the output dir
	commits    []rec          // successful commits, in order
	restarts   []rec          // Restart calls, with the version committed at the time
	violations []string

	buildTime   func(n int, target string) time.Duration // n is the 1-based call number
	buildErr    func(n int, target string, version int) error
	commitErr   func(target string, version int) error
	unchanged   func(target string, version int) bool // Swap.Changed empty
	restartTime func(target string) time.Duration
	restartErr  func(target string) error
}

type buildCall struct {
	n       int
	target  string
	version int
	start   time.Time
	ctx     context.Context
	cause   error // context.Cause when the build was cancelled
}

type rec struct {
	Target  string
	Version int
}

func newWorld() *world {
	return &world{
		active:      map[string]int{},
		committed:   map[string]int{},
		buildTime:   func(int, string) time.Duration { return 10 * time.Second },
		buildErr:    func(int, string, int) error { return nil },
		commitErr:   func(string, int) error { return nil },
		unchanged:   func(string, int) bool { return false },
		restartTime: func(string) time.Duration { return time.Second },
		restartErr:  func(string) error { return nil },
	}
}

func (w *world) edit() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.version++
}

func (w *world) Build(ctx context.Context, target string) (loop.Result, error) {
	w.mu.Lock()
	c := &buildCall{n: len(w.calls) + 1, target: target, version: w.version, start: time.Now(), ctx: ctx}
	w.calls = append(w.calls, c)
	d, err := w.buildTime(c.n, target), w.buildErr(c.n, target, c.version)
	w.active[target]++
	if w.active[target] > 1 {
		w.overlap = true
	}
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.active[target]--
		w.mu.Unlock()
	}()

	select {
	case <-time.After(d):
	case <-ctx.Done():
		w.mu.Lock()
		c.cause = context.Cause(ctx)
		w.mu.Unlock()
		return loop.Result{}, fmt.Errorf("solve %s: %w", target, context.Cause(ctx))
	}
	if err != nil {
		return loop.Result{Solve: d}, err
	}
	s := &fakeStaged{w: w, call: c}
	w.mu.Lock()
	w.staged = append(w.staged, s)
	w.mu.Unlock()
	return loop.Result{Staged: s, Solve: d, Export: d / 10}, nil
}

func (w *world) Restart(ctx context.Context, target string) error {
	w.mu.Lock()
	w.restarts = append(w.restarts, rec{target, w.committed[target]})
	d, err := w.restartTime(target), w.restartErr(target)
	w.mu.Unlock()
	select {
	case <-time.After(d):
		return err
	case <-ctx.Done():
		// What the supervisor says when shutdown (Ctrl-C) reaches it first: not
		// ctx's error.
		return fmt.Errorf("restart %s: supervisor is shutting down", target)
	}
}

// snapshot returns copies of the recorded commits and restarts.
func (w *world) snapshot() (commits, restarts []rec) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.commits), slices.Clone(w.restarts)
}

// callsFor returns the Build calls for target.
func (w *world) callsFor(target string) []buildCall {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []buildCall
	for _, c := range w.calls {
		if c.target == target {
			out = append(out, *c)
		}
	}
	return out
}

type fakeStaged struct {
	w                 *world
	call              *buildCall
	commits, discards int
}

func (s *fakeStaged) Commit() (loop.Swap, error) {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	c := s.call
	s.commits++
	if context.Cause(c.ctx) == loop.ErrSuperseded {
		w.violations = append(w.violations, fmt.Sprintf("commit of superseded build %s@%d", c.target, c.version))
	}
	if s.discards > 0 {
		w.violations = append(w.violations, fmt.Sprintf("commit after discard %s@%d", c.target, c.version))
	}
	if err := w.commitErr(c.target, c.version); err != nil {
		return loop.Swap{}, err
	}
	if prev, ok := w.committed[c.target]; ok && prev > c.version {
		w.violations = append(w.violations, fmt.Sprintf("commit %s@%d over newer version %d", c.target, c.version, prev))
	}
	w.committed[c.target] = c.version
	w.commits = append(w.commits, rec{c.target, c.version})
	if w.unchanged(c.target, c.version) {
		return loop.Swap{Unchanged: []string{c.target}}, nil
	}
	return loop.Swap{Changed: []string{c.target}, Executables: []string{c.target}}, nil
}

func (s *fakeStaged) Discard() error {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	s.discards++
	return nil
}

// recorder is an Options.Events sink.
type recorder struct {
	mu     sync.Mutex
	events []loop.Event
}

func (r *recorder) add(e loop.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []loop.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func eventsOf[T loop.Event](r *recorder) []T {
	var out []T
	for _, e := range r.all() {
		if v, ok := e.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// checkBuilds compares BuildStarted.Paths of every build after the initial one, and
// the IDs of the BuildSuperseded events, with the wanted ones.
func checkBuilds(t *testing.T, r *recorder, wantPaths [][]string, wantSuperseded []int) {
	t.Helper()
	var paths [][]string
	for _, s := range eventsOf[loop.BuildStarted](r)[1:] {
		paths = append(paths, s.Paths)
	}
	if !slices.EqualFunc(paths, wantPaths, slices.Equal) {
		t.Errorf("BuildStarted paths = %v, want %v", paths, wantPaths)
	}
	if sup := supersededIDs(r); !slices.Equal(sup, wantSuperseded) {
		t.Errorf("BuildSuperseded IDs = %v, want %v", sup, wantSuperseded)
	}
}

// supersededIDs returns the IDs of the BuildSuperseded events.
func supersededIDs(r *recorder) []int {
	var out []int
	for _, e := range eventsOf[loop.BuildSuperseded](r) {
		out = append(out, e.ID)
	}
	return out
}

// harness runs a Loop inside a synctest bubble.
type harness struct {
	t       *testing.T
	w       *world
	rec     *recorder
	changes chan loop.Change
	cancel  context.CancelFunc
	errc    chan error
}

// start runs a Loop over w with opts (Builder, Restarter and Events filled in) and
// waits until the loop is blocked.
func start(t *testing.T, w *world, opts loop.Options) *harness {
	t.Helper()
	h := &harness{t: t, w: w, rec: &recorder{}, changes: make(chan loop.Change), errc: make(chan error, 1)}
	opts.Builder = w
	if len(opts.Run) > 0 {
		opts.Restarter = w
	}
	opts.Events = h.rec.add
	l, err := loop.New(opts)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	go func() { h.errc <- l.Run(ctx, h.changes) }()
	synctest.Wait()
	return h
}

// edit changes the source tree and sends the change for paths.
func (h *harness) edit(paths ...string) {
	now := time.Now()
	h.send(loop.Change{Paths: paths, First: now, Last: now})
}

// send changes the source tree and sends c.
func (h *harness) send(c loop.Change) {
	h.w.edit()
	h.changes <- c
	synctest.Wait()
}

// timedEdit is an edit at a time after the initial build settled.
type timedEdit struct {
	at    time.Duration
	paths []string
}

// editAt makes each edit at its time, counted from now.
func (h *harness) editAt(edits []timedEdit) {
	var elapsed time.Duration
	for _, e := range edits {
		advance(e.at - elapsed)
		elapsed = e.at
		h.edit(e.paths...)
	}
}

func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// stop shuts the loop down and checks the invariants every scenario must keep.
func (h *harness) stop() {
	t := h.t
	t.Helper()
	h.cancel()
	if err := <-h.errc; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	w := h.w
	w.mu.Lock()
	for _, v := range w.violations {
		t.Error(v)
	}
	if w.overlap {
		t.Error("a target was built twice concurrently")
	}
	for _, s := range w.staged {
		if s.discards == 0 {
			t.Errorf("staged output of %s@%d: Discard calls = 0, want ≥ 1", s.call.target, s.call.version)
		}
	}
	w.mu.Unlock()
	checkSequential(t, h.rec.all())
}

// checkSequential asserts that jobs never overlap: every BuildStarted is followed by
// its BuildFinished before the next BuildStarted, and IDs count up from 1.
func checkSequential(t *testing.T, events []loop.Event) {
	t.Helper()
	running := 0
	last := 0
	for _, e := range events {
		switch e := e.(type) {
		case loop.BuildStarted:
			if running != 0 {
				t.Errorf("BuildStarted{ID: %d} while build %d runs", e.ID, running)
			}
			if e.ID != last+1 {
				t.Errorf("BuildStarted.ID = %d, want %d", e.ID, last+1)
			}
			running, last = e.ID, e.ID
		case loop.BuildFinished:
			if e.ID != running {
				t.Errorf("BuildFinished{ID: %d} while build %d runs", e.ID, running)
			}
			running = 0
		}
	}
}
