package loop_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devloop/devloop/loop"
)

// debounce delivers writes to the loop as watcher.Debounce does: a burst ends quiet
// after its last write, or maxWait after its first, whichever comes first.
func debounce(ctx context.Context, in <-chan string, out chan<- loop.Change, quiet, maxWait time.Duration) {
	var paths []string
	var first, last time.Time
	var quietC, maxC <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-in:
			now := time.Now()
			if paths == nil {
				first, maxC = now, time.After(maxWait)
			}
			paths = append(paths, p)
			last, quietC = now, time.After(quiet)
			continue
		case <-quietC:
		case <-maxC:
		}
		slices.Sort(paths)
		c := loop.Change{Paths: slices.Compact(paths), First: first, Last: last}
		paths, quietC, maxC = nil, nil, nil
		select {
		case out <- c:
		case <-ctx.Done():
			return
		}
	}
}

// streamRun is one run of a file rewritten every period while the user saves one
// real edit, delivered through debounce (20 ms quiet, 2 s max_wait) to a loop whose
// builds solve for 2.5 s.
type streamRun struct {
	latency   time.Duration // edit → first committed build that contains it; -1: none while the stream ran
	cancelled int           // builds cancelled with ErrSuperseded while the stream ran
	finished  int           // builds committed while the stream ran
}

const (
	streamQuiet   = 20 * time.Millisecond
	streamMaxWait = 2 * time.Second
	streamSolve   = 2500 * time.Millisecond
	streamRestart = 100 * time.Millisecond
	streamLength  = 40 * time.Second
)

func runStream(t *testing.T, policy loop.Policy, period, editAt time.Duration) streamRun {
	t.Helper()
	w := newWorld()
	w.buildTime = func(int, string) time.Duration { return streamSolve }
	w.restartTime = func(string) time.Duration { return streamRestart }
	h := &harness{t: t, w: w, rec: &recorder{}, changes: make(chan loop.Change), errc: make(chan error, 1)}
	l, err := loop.New(loop.Options{
		Targets: []string{"server"}, Run: map[string]bool{"server": true}, Policy: policy,
		MaxWait: streamMaxWait, Builder: w, Restarter: w, Events: h.rec.add,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	writes := make(chan string)
	go func() { h.errc <- l.Run(ctx, h.changes) }()
	go debounce(ctx, writes, h.changes, streamQuiet, streamMaxWait)
	advance(10 * time.Second) // the initial build

	write := func(path string) {
		w.edit()
		select {
		case writes <- path:
		case <-ctx.Done():
		}
	}
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for end := time.After(streamLength); ; {
			select {
			case <-tick.C:
				write("gen/stream.txt")
			case <-end:
				return
			}
		}
	}()

	start := time.Now()
	advance(editAt)
	write("internal/greeting/greeting.go")
	w.mu.Lock()
	want := w.version
	w.mu.Unlock()
	edited := time.Now()
	r := streamRun{latency: -1}
	for time.Since(start) < streamLength-time.Second {
		advance(10 * time.Millisecond)
		w.mu.Lock()
		got := w.committed["server"]
		w.mu.Unlock()
		if got >= want {
			r.latency = time.Since(edited)
			break
		}
	}
	<-streamDone
	w.mu.Lock()
	for _, c := range w.calls {
		if c.cause == loop.ErrSuperseded {
			r.cancelled++
		}
	}
	r.finished = len(w.commits) - 1
	w.mu.Unlock()
	advance(time.Minute)
	h.stop()
	// Once the stream stopped, the last write is in the output like with any change.
	w.mu.Lock()
	defer w.mu.Unlock()
	if got := w.committed["server"]; got != w.version {
		t.Errorf("committed version after the stream = %d, want the last write %d", got, w.version)
	}
	return r
}

// TestStreamProgress: a file rewritten every 10 ms or 150 ms (a log, a generated file)
// must not starve the loop: the user's edit is in a finished build within
// progressBound, whatever the policy and wherever in the stream the edit falls.
func TestStreamProgress(t *testing.T) {
	// The bound the package doc states: the edit reaches the loop at most max_wait after
	// it was saved; builds that cover it are cancelled only while it is younger than the
	// cancel window max(max_wait, last solve) = 2.5 s; then at most the build running
	// (2.5 s + 0.1 s restart) and its own build (2.6 s) pass.
	const progressBound = 2500*time.Millisecond + 2*(streamSolve+streamRestart)
	for _, policy := range []loop.Policy{loop.PolicyRestart, loop.PolicyQueue} {
		for _, period := range []time.Duration{10 * time.Millisecond, 150 * time.Millisecond} {
			t.Run(fmt.Sprintf("%v/every %v", policy, period), func(t *testing.T) {
				var worst, sum time.Duration
				n, cancelled, finished := 0, 0, 0
				for editAt := 3 * time.Second; editAt < 6*time.Second; editAt += 130 * time.Millisecond {
					var r streamRun
					synctest.Test(t, func(t *testing.T) { r = runStream(t, policy, period, editAt) })
					if r.latency < 0 {
						t.Errorf("edit at %v into the stream: not in a finished build while the stream ran (%d builds cancelled, %d finished)", editAt, r.cancelled, r.finished)
						continue
					}
					if r.latency > progressBound {
						t.Errorf("edit at %v into the stream: in a finished build after %v, want ≤ %v", editAt, r.latency, progressBound)
					}
					if r.finished < int(streamLength/(2*progressBound)) {
						t.Errorf("edit at %v into the stream: %d builds finished during the %v stream, want ≥ %d", editAt, r.finished, streamLength, int(streamLength/(2*progressBound)))
					}
					worst = max(worst, r.latency)
					sum += r.latency
					n++
					cancelled += r.cancelled
					finished += r.finished
				}
				if n > 0 {
					t.Logf("edit → finished build: mean %v, worst %v over %d edit times; per %v stream %d builds finished, %d cancelled",
						sum/time.Duration(n), worst, n, streamLength, finished/n, cancelled/n)
				}
			})
		}
	}
}

// TestCancelWindow pins the rule: under PolicyRestart a change cancels the running
// build only while the oldest change that build covers has waited less than
// max(MaxWait, the last finished solve phase); later changes are queued as one
// follow-up. Single saves during a build keep cancelling it.
func TestCancelWindow(t *testing.T) {
	type edit = timedEdit
	tests := []struct {
		name           string
		solve          []time.Duration // solve time of Build call n (1-based); the last repeats
		edits          []edit
		wantPaths      [][]string // BuildStarted.Paths after the initial build
		wantSuperseded []int
	}{
		{
			name:           "one save during a build cancels it",
			solve:          []time.Duration{2500 * time.Millisecond},
			edits:          []edit{{0, []string{"a"}}, {time.Second, []string{"b"}}},
			wantPaths:      [][]string{{"a"}, {"a", "b"}},
			wantSuperseded: []int{2},
		},
		{
			name:           "saves inside the window cancel, the first after it queues",
			solve:          []time.Duration{2500 * time.Millisecond},
			edits:          []edit{{0, []string{"a"}}, {time.Second, []string{"b"}}, {2400 * time.Millisecond, []string{"c"}}, {2600 * time.Millisecond, []string{"d"}}},
			wantPaths:      [][]string{{"a"}, {"a", "b"}, {"a", "b", "c"}, {"d"}},
			wantSuperseded: []int{2, 3},
		},
		{
			name:           "the window is max_wait when solves are shorter",
			solve:          []time.Duration{500 * time.Millisecond, 3 * time.Second},
			edits:          []edit{{0, []string{"a"}}, {1900 * time.Millisecond, []string{"b"}}, {2100 * time.Millisecond, []string{"c"}}},
			wantPaths:      [][]string{{"a"}, {"a", "b"}, {"c"}},
			wantSuperseded: []int{2},
		},
		{
			name:           "slow builds: the window is the last solve",
			solve:          []time.Duration{10 * time.Second},
			edits:          []edit{{0, []string{"a"}}, {2 * time.Second, []string{"b"}}, {5 * time.Second, []string{"c"}}, {9 * time.Second, []string{"d"}}, {11 * time.Second, []string{"e"}}},
			wantPaths:      [][]string{{"a"}, {"a", "b"}, {"a", "b", "c"}, {"a", "b", "c", "d"}, {"e"}},
			wantSuperseded: []int{2, 3, 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld()
				w.buildTime = func(n int, _ string) time.Duration { return tt.solve[min(n, len(tt.solve))-1] }
				w.restartTime = func(string) time.Duration { return 0 }
				h := start(t, w, loop.Options{
					Targets: []string{"server"}, Run: map[string]bool{"server": true},
					Policy: loop.PolicyRestart, MaxWait: 2 * time.Second,
				})
				advance(20 * time.Second)
				h.editAt(tt.edits)
				advance(time.Minute)
				h.stop()

				checkBuilds(t, h.rec, tt.wantPaths, tt.wantSuperseded)
				if got := w.committed["server"]; got != len(tt.edits) {
					t.Errorf("committed version = %d, want the last edit %d", got, len(tt.edits))
				}
			})
		})
	}
}

// TestInitialBuildCancelWindow: the initial build covers no change, so the first change
// cancels it; the build that replaces it covers that change and is let finish once the
// change waited the window.
func TestInitialBuildCancelWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld()
		w.buildTime = func(int, string) time.Duration { return 3 * time.Second }
		h := start(t, w, loop.Options{Targets: []string{"server"}, Policy: loop.PolicyRestart, MaxWait: 2 * time.Second})
		for range 9 { // a change every 500 ms from the start until 4.5 s
			advance(500 * time.Millisecond)
			h.edit("log.txt")
		}
		advance(time.Minute)
		h.stop()
		sup := supersededIDs(h.rec)
		// #1 (initial) cancelled at 0.5 s; #2 covers the change of 0.5 s and is cancelled
		// at 1, 1.5 and 2 s (#2–#4); from 2.5 s on that change waited 2 s: #5 (2–5 s)
		// finishes, and #6 follows with the changes of 2.5–4.5 s.
		if want := []int{1, 2, 3, 4}; !slices.Equal(sup, want) {
			t.Errorf("BuildSuperseded IDs = %v, want %v", sup, want)
		}
		fins := eventsOf[loop.BuildFinished](h.rec)
		if len(fins) != 6 || !fins[4].OK || !fins[5].OK {
			t.Errorf("BuildFinished = %+v, want 6 with #5 and #6 OK", fins)
		}
	})
}
