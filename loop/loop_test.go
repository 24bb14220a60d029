package loop_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devloop/devloop/loop"
)

func TestSingleChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld()
		h := start(t, w, loop.Options{Targets: []string{"server"}, Run: map[string]bool{"server": true}})
		advance(20 * time.Second)

		commits, restarts := w.snapshot()
		if want := []rec{{"server", 0}}; !slices.Equal(commits, want) || !slices.Equal(restarts, want) {
			t.Fatalf("after initial build: commits = %v, restarts = %v, want both %v", commits, restarts, want)
		}

		now := time.Now()
		h.send(loop.Change{Paths: []string{"main.go"}, First: now.Add(-300 * time.Millisecond), Last: now})
		advance(20 * time.Second)
		h.stop()

		commits, restarts = w.snapshot()
		if want := []rec{{"server", 0}, {"server", 1}}; !slices.Equal(commits, want) || !slices.Equal(restarts, want) {
			t.Errorf("commits = %v, restarts = %v, want both %v", commits, restarts, want)
		}
		starts := eventsOf[loop.BuildStarted](h.rec)
		if len(starts) != 2 {
			t.Fatalf("BuildStarted events = %d, want 2", len(starts))
		}
		if got := []loop.Reason{starts[0].Reason, starts[1].Reason}; !slices.Equal(got, []loop.Reason{loop.ReasonInitial, loop.ReasonChange}) {
			t.Errorf("BuildStarted reasons = %v, want [initial change]", got)
		}
		if !slices.Equal(starts[1].Paths, []string{"main.go"}) {
			t.Errorf("BuildStarted.Paths = %v, want [main.go]", starts[1].Paths)
		}
		fins := eventsOf[loop.BuildFinished](h.rec)
		if len(fins) != 2 || !fins[0].OK || !fins[1].OK {
			t.Fatalf("BuildFinished = %+v, want 2 OK builds", fins)
		}
		f := fins[1]
		if f.Wait != 300*time.Millisecond || f.Solve != 10*time.Second || f.Export != time.Second || f.Restart != time.Second || f.Duration != 11*time.Second {
			t.Errorf("BuildFinished durations = wait %v solve %v export %v restart %v total %v, want 300ms 10s 1s 1s 11s",
				f.Wait, f.Solve, f.Export, f.Restart, f.Duration)
		}
		tf := eventsOf[loop.TargetFinished](h.rec)
		if len(tf) != 2 || !tf[1].OK || !slices.Equal(tf[1].Changed, []string{"server"}) || !slices.Equal(tf[1].Executables, []string{"server"}) {
			t.Errorf("TargetFinished = %+v, want 2, the last OK with Changed and Executables [server]", tf)
		}
		if n := len(eventsOf[loop.Restarted](h.rec)); n != 2 {
			t.Errorf("Restarted events = %d, want 2", n)
		}
	})
}

func TestChangeDuringBuild(t *testing.T) {
	type edit = timedEdit // build 2 solves 0–10s, restarts 10–12s
	tests := []struct {
		name           string
		policy         loop.Policy
		edits          []edit
		wantPaths      [][]string // BuildStarted.Paths of builds after the initial one
		wantSuperseded []int
		wantCommits    []rec         // after the initial build
		wantCancelled  int           // Build calls whose ctx was cancelled with ErrSuperseded
		wantUncommited int           // staged outputs discarded without commit
		wantWait       time.Duration // BuildFinished.Wait of the last build
	}{
		{
			name:        "queue/one change",
			policy:      loop.PolicyQueue,
			edits:       []edit{{0, []string{"a"}}, {2 * time.Second, []string{"b"}}},
			wantPaths:   [][]string{{"a"}, {"b"}},
			wantCommits: []rec{{"fast", 1}, {"slow", 1}, {"fast", 2}, {"slow", 2}},
			wantWait:    10 * time.Second, // waited from 2s until build 2 finished restarting at 12s
		},
		{
			name:   "queue/three changes",
			policy: loop.PolicyQueue,
			edits: []edit{{0, []string{"a"}}, {2 * time.Second, []string{"b"}},
				{3 * time.Second, []string{"c", "b"}}, {4 * time.Second, []string{"d"}}},
			wantPaths:   [][]string{{"a"}, {"b", "c", "d"}},
			wantCommits: []rec{{"fast", 1}, {"slow", 1}, {"fast", 4}, {"slow", 4}},
			wantWait:    10 * time.Second, // from the earliest queued change
		},
		{
			name:           "restart/one change",
			policy:         loop.PolicyRestart,
			edits:          []edit{{0, []string{"a"}}, {2 * time.Second, []string{"b"}}},
			wantPaths:      [][]string{{"a"}, {"a", "b"}},
			wantSuperseded: []int{2},
			wantCommits:    []rec{{"fast", 2}, {"slow", 2}},
			wantCancelled:  1,
			wantUncommited: 1,
			wantWait:       2 * time.Second, // from the superseded build's change
		},
		{
			name:   "restart/two supersessions",
			policy: loop.PolicyRestart,
			edits: []edit{{0, []string{"a"}}, {2 * time.Second, []string{"b"}},
				{3500 * time.Millisecond, []string{"c"}}},
			wantPaths:      [][]string{{"a"}, {"a", "b"}, {"a", "b", "c"}},
			wantSuperseded: []int{2, 3},
			wantCommits:    []rec{{"fast", 3}, {"slow", 3}},
			wantCancelled:  2,
			wantUncommited: 2,
			wantWait:       3500 * time.Millisecond,
		},
		{
			name:        "restart/change while restarting is queued",
			policy:      loop.PolicyRestart,
			edits:       []edit{{0, []string{"a"}}, {10500 * time.Millisecond, []string{"b"}}},
			wantPaths:   [][]string{{"a"}, {"b"}},
			wantCommits: []rec{{"fast", 1}, {"slow", 1}, {"fast", 2}, {"slow", 2}},
			wantWait:    1500 * time.Millisecond,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld()
				w.buildTime = func(_ int, target string) time.Duration {
					if target == "fast" {
						return time.Second
					}
					return 10 * time.Second
				}
				h := start(t, w, loop.Options{
					Targets: []string{"fast", "slow"},
					Run:     map[string]bool{"fast": true, "slow": true},
					Policy:  tt.policy,
				})
				advance(20 * time.Second)
				h.editAt(tt.edits)
				advance(time.Minute)
				h.stop()

				checkBuilds(t, h.rec, tt.wantPaths, tt.wantSuperseded)
				var finSup []int
				for _, e := range eventsOf[loop.BuildFinished](h.rec) {
					if e.Superseded {
						finSup = append(finSup, e.ID)
					}
				}
				if !slices.Equal(finSup, tt.wantSuperseded) {
					t.Errorf("BuildFinished{Superseded: true} IDs = %v, want %v", finSup, tt.wantSuperseded)
				}
				fins := eventsOf[loop.BuildFinished](h.rec)
				if got := fins[len(fins)-1].Wait; got != tt.wantWait {
					t.Errorf("last BuildFinished.Wait = %v, want %v", got, tt.wantWait)
				}
				commits, _ := w.snapshot()
				if got := commits[2:]; !slices.Equal(got, tt.wantCommits) {
					t.Errorf("commits after the initial build = %v, want %v", got, tt.wantCommits)
				}
				cancelled, uncommitted := 0, 0
				w.mu.Lock()
				for _, c := range w.calls {
					if c.cause == loop.ErrSuperseded {
						cancelled++
					}
				}
				for _, s := range w.staged {
					if s.commits == 0 {
						uncommitted++
					}
				}
				w.mu.Unlock()
				if cancelled != tt.wantCancelled {
					t.Errorf("builds cancelled with ErrSuperseded = %d, want %d", cancelled, tt.wantCancelled)
				}
				if uncommitted != tt.wantUncommited {
					t.Errorf("staged outputs never committed = %d, want %d", uncommitted, tt.wantUncommited)
				}
			})
		})
	}
}

func TestBuildFailure(t *testing.T) {
	errSyntax := errors.New("main.go:3: syntax error")
	tests := []struct {
		name      string
		buildErr  error
		commitErr error
		wantErr   string
	}{
		{name: "solve", buildErr: errSyntax, wantErr: "main.go:3: syntax error"},
		{name: "commit", commitErr: errors.New("verify bin/server: not executable"), wantErr: "commit server: verify bin/server: not executable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld()
				w.buildErr = func(_ int, target string, version int) error {
					if target == "server" && version == 1 {
						return tt.buildErr
					}
					return nil
				}
				w.commitErr = func(target string, version int) error {
					if target == "server" && version == 1 {
						return tt.commitErr
					}
					return nil
				}
				h := start(t, w, loop.Options{
					Targets: []string{"client", "server"},
					Run:     map[string]bool{"client": true, "server": true},
				})
				advance(20 * time.Second)
				h.edit("main.go")
				advance(20 * time.Second)

				_, restarts := w.snapshot()
				if want := []rec{{"client", 0}, {"server", 0}, {"client", 1}}; !slices.Equal(restarts, want) {
					t.Errorf("restarts after failed build = %v, want %v", restarts, want)
				}
				fin := eventsOf[loop.BuildFinished](h.rec)[1]
				if fin.OK || !slices.Equal(fin.Failed, []string{"server"}) {
					t.Errorf("BuildFinished = {OK: %v, Failed: %v}, want {OK: false, Failed: [server]}", fin.OK, fin.Failed)
				}
				var failed []loop.TargetFinished
				for _, e := range eventsOf[loop.TargetFinished](h.rec) {
					if !e.OK {
						failed = append(failed, e)
					}
				}
				if len(failed) != 1 || failed[0].Target != "server" || failed[0].Err == nil || failed[0].Err.Error() != tt.wantErr {
					t.Errorf("failed TargetFinished = %+v, want one for server with error %q", failed, tt.wantErr)
				}

				h.edit("main.go")
				advance(20 * time.Second)
				h.stop()
				commits, restarts := w.snapshot()
				wantCommits := []rec{{"client", 0}, {"server", 0}, {"client", 1}, {"client", 2}, {"server", 2}}
				if !slices.Equal(commits, wantCommits) {
					t.Errorf("commits = %v, want %v", commits, wantCommits)
				}
				if want := []rec{{"client", 0}, {"server", 0}, {"client", 1}, {"client", 2}, {"server", 2}}; !slices.Equal(restarts, want) {
					t.Errorf("restarts = %v, want %v", restarts, want)
				}
				if fin := eventsOf[loop.BuildFinished](h.rec)[2]; !fin.OK {
					t.Errorf("BuildFinished{ID: 3}.OK = false, want true")
				}
			})
		})
	}
}

func TestRestartDecision(t *testing.T) {
	tests := []struct {
		name          string
		unchanged     func(version int) bool
		failInitial   bool
		wantInitial   int // Restart calls after the initial build
		wantAfterEdit int // Restart calls after one more successful build
	}{
		{"binary changed", func(int) bool { return false }, false, 1, 2},
		{"binary unchanged", func(v int) bool { return v >= 1 }, false, 1, 1},
		{"first success starts an unchanged binary", func(int) bool { return true }, false, 1, 1},
		{"first success after failed initial build", func(int) bool { return true }, true, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld()
				w.unchanged = func(_ string, v int) bool { return tt.unchanged(v) }
				w.buildErr = func(_ int, _ string, v int) error {
					if tt.failInitial && v == 0 {
						return errors.New("compile error")
					}
					return nil
				}
				h := start(t, w, loop.Options{Targets: []string{"server"}, Run: map[string]bool{"server": true}})
				advance(20 * time.Second)
				if _, r := w.snapshot(); len(r) != tt.wantInitial {
					t.Errorf("Restart calls after initial build = %d, want %d", len(r), tt.wantInitial)
				}
				h.edit("main.go")
				advance(20 * time.Second)
				h.stop()
				if _, r := w.snapshot(); len(r) != tt.wantAfterEdit {
					t.Errorf("Restart calls after second build = %d, want %d", len(r), tt.wantAfterEdit)
				}
			})
		})
	}
}

func TestRestartFailureRetriesStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld()
		w.unchanged = func(string, int) bool { return true }
		fail := true
		w.restartErr = func(string) error {
			if fail {
				fail = false
				return errors.New("exec bin/server: permission denied")
			}
			return nil
		}
		h := start(t, w, loop.Options{Targets: []string{"server"}, Run: map[string]bool{"server": true}})
		advance(20 * time.Second)
		h.edit("main.go")
		advance(20 * time.Second)
		h.edit("main.go")
		advance(20 * time.Second)
		h.stop()

		_, restarts := w.snapshot()
		if want := []rec{{"server", 0}, {"server", 1}}; !slices.Equal(restarts, want) {
			t.Errorf("restarts = %v, want %v (a failed start is retried after the next build, then no more)", restarts, want)
		}
		ev := eventsOf[loop.Restarted](h.rec)
		if len(ev) != 2 || ev[0].Err == nil || ev[1].Err != nil {
			t.Errorf("Restarted events = %+v, want a failure then a success", ev)
		}
	})
}

func TestBuilderUnavailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld()
		unavailable := map[int]bool{1: true, 2: true, 3: true, 5: true, 6: true}
		w.buildTime = func(n int, _ string) time.Duration {
			if unavailable[n] {
				return 0
			}
			return time.Second
		}
		w.buildErr = func(n int, _ string, _ int) error {
			if unavailable[n] {
				return fmt.Errorf("connect to buildkitd: %w", loop.ErrUnavailable)
			}
			return nil
		}
		t0 := time.Now()
		h := start(t, w, loop.Options{Targets: []string{"server"}, Run: map[string]bool{"server": true}})
		advance(20 * time.Second)
		h.edit("a")
		advance(time.Second) // call 5 failed at once, call 6 fails after 1s
		if _, r := w.snapshot(); len(r) != 1 {
			t.Errorf("Restart calls while unavailable = %d, want 1", len(r))
		}
		advance(500 * time.Millisecond) // mid-way through the 2s wait
		h.edit("b")
		advance(40 * time.Second)
		h.stop()

		type start struct {
			At     time.Duration
			Reason loop.Reason
			Paths  string
		}
		var got []start
		for _, s := range eventsOf[loop.BuildStarted](h.rec) {
			got = append(got, start{s.Time.Sub(t0), s.Reason, strings.Join(s.Paths, ",")})
		}
		want := []start{
			{0, loop.ReasonInitial, ""},
			{time.Second, loop.ReasonRetry, ""},
			{3 * time.Second, loop.ReasonRetry, ""},
			{7 * time.Second, loop.ReasonRetry, ""},
			{20 * time.Second, loop.ReasonChange, "a"},
			{21 * time.Second, loop.ReasonRetry, "a"},
			{21500 * time.Millisecond, loop.ReasonChange, "a,b"},
		}
		if !slices.Equal(got, want) {
			t.Errorf("builds started =\n%v\nwant\n%v", got, want)
		}
		var delays []time.Duration
		var attempts []int
		for _, e := range eventsOf[loop.BuilderUnavailable](h.rec) {
			if !errors.Is(e.Err, loop.ErrUnavailable) {
				t.Errorf("BuilderUnavailable.Err = %v, want it to wrap ErrUnavailable", e.Err)
			}
			delays = append(delays, e.RetryIn)
			attempts = append(attempts, e.Attempt)
		}
		if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, time.Second, 2 * time.Second}; !slices.Equal(delays, want) {
			t.Errorf("BuilderUnavailable.RetryIn = %v, want %v", delays, want)
		}
		if want := []int{1, 2, 3, 1, 2}; !slices.Equal(attempts, want) {
			t.Errorf("BuilderUnavailable.Attempt = %v, want %v (counted again after the builder was reached)", attempts, want)
		}
		commits, restarts := w.snapshot()
		if want := []rec{{"server", 0}, {"server", 2}}; !slices.Equal(commits, want) || !slices.Equal(restarts, want) {
			t.Errorf("commits = %v, restarts = %v, want both %v", commits, restarts, want)
		}
	})
}

func TestBackoffCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld()
		w.buildTime = func(int, string) time.Duration { return 0 }
		w.buildErr = func(int, string, int) error { return loop.ErrUnavailable }
		h := start(t, w, loop.Options{Targets: []string{"server"}, Retry: loop.Backoff{Initial: 3 * time.Second, Max: 10 * time.Second}})
		advance(time.Minute)
		h.stop()
		var delays []time.Duration
		for _, e := range eventsOf[loop.BuilderUnavailable](h.rec) {
			delays = append(delays, e.RetryIn)
		}
		// Failures at 0s, 3s, 9s, 19s, 29s, 39s, 49s, 59s.
		want := []time.Duration{3 * time.Second, 6 * time.Second, 10 * time.Second, 10 * time.Second,
			10 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second}
		if !slices.Equal(delays, want) {
			t.Errorf("BuilderUnavailable.RetryIn = %v, want %v", delays, want)
		}
	})
}

func TestShutdown(t *testing.T) {
	tests := []struct {
		name         string
		at           time.Duration
		wantCanceled bool // the build was interrupted
		wantCommits  int
		wantRestarts int
	}{
		{name: "mid-solve", at: 5 * time.Second, wantCanceled: true},
		{name: "mid-restart", at: 10500 * time.Millisecond, wantCanceled: true, wantCommits: 2, wantRestarts: 1},
		{name: "idle", at: 30 * time.Second, wantCommits: 2, wantRestarts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld()
				w.buildTime = func(_ int, target string) time.Duration {
					if target == "fast" {
						return time.Second
					}
					return 10 * time.Second
				}
				h := start(t, w, loop.Options{
					Targets: []string{"fast", "slow"},
					Run:     map[string]bool{"fast": true, "slow": true},
				})
				advance(tt.at)
				t0 := time.Now()
				h.stop() // also asserts Run returned nil and every staged output was discarded
				if d := time.Since(t0); d != 0 {
					t.Errorf("Run returned %v after cancel, want at once", d)
				}
				commits, restarts := w.snapshot()
				if len(commits) != tt.wantCommits || len(restarts) != tt.wantRestarts {
					t.Errorf("commits = %v, restarts = %v, want %d commits and %d restarts", commits, restarts, tt.wantCommits, tt.wantRestarts)
				}
				if tt.at < 10*time.Second {
					var causes []error
					for _, c := range w.callsFor("slow") {
						causes = append(causes, c.cause)
					}
					if len(causes) != 1 || !errors.Is(causes[0], context.Canceled) {
						t.Errorf("slow build cancellation causes = %v, want [context.Canceled]", causes)
					}
				}
				// A restart that shutdown interrupts did not fail (issue 16 §8: "restart
				// failed: context canceled" on Ctrl-C), whatever error it returned.
				for _, r := range eventsOf[loop.Restarted](h.rec) {
					if r.Err != nil {
						t.Errorf("Restarted %s with error %v, want no failed restart on shutdown", r.Target, r.Err)
					}
				}
				fins := eventsOf[loop.BuildFinished](h.rec)
				if len(fins) != 1 || fins[0].Canceled != tt.wantCanceled || fins[0].OK == tt.wantCanceled {
					t.Errorf("BuildFinished = %+v, want one with Canceled %v", fins, tt.wantCanceled)
				}
			})
		})
	}
}

func TestAffects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld()
		var asked []string
		affects := func(target string, paths []string) bool {
			asked = append(asked, target)
			for _, p := range paths {
				if p == "go.mod" || strings.HasPrefix(p, target+"/") {
					return true
				}
			}
			return false
		}
		h := start(t, w, loop.Options{
			Targets: []string{"client", "server"},
			Run:     map[string]bool{"server": true},
			Affects: affects,
		})
		advance(20 * time.Second)
		if len(asked) != 0 {
			t.Errorf("Affects asked about %v for the initial build, want no calls", asked)
		}
		h.edit("server/main.go")
		advance(20 * time.Second)
		h.edit("docs/README.md")
		advance(20 * time.Second)
		h.send(loop.Change{Paths: []string{"docs/README.md"}, Overflow: true})
		advance(20 * time.Second)
		h.edit("go.mod")
		advance(20 * time.Second)
		h.stop()

		type build struct{ Targets, Skipped string }
		var got []build
		for _, s := range eventsOf[loop.BuildStarted](h.rec) {
			got = append(got, build{strings.Join(s.Targets, ","), strings.Join(s.Skipped, ",")})
		}
		want := []build{{"client,server", ""}, {"server", "client"}, {"client,server", ""}, {"client,server", ""}}
		if !slices.Equal(got, want) {
			t.Errorf("builds = %v, want %v", got, want)
		}
		skipped := eventsOf[loop.Skipped](h.rec)
		if len(skipped) != 1 || !slices.Equal(skipped[0].Paths, []string{"docs/README.md"}) {
			t.Errorf("Skipped events = %+v, want one for [docs/README.md]", skipped)
		}
		if c := w.callsFor("client"); len(c) != 3 {
			t.Errorf("client builds = %d, want 3 (initial, overflow, go.mod)", len(c))
		}
	})
}

func TestOnce(t *testing.T) {
	errCompile := errors.New("compile error")
	tests := []struct {
		name        string
		run         bool
		buildErr    func(target string) error
		restartErr  error
		cancelAt    time.Duration
		wantOK      bool
		wantErr     error
		wantCommits []rec
		wantRestart []rec
	}{
		{name: "all succeed", wantOK: true, wantCommits: []rec{{"client", 0}, {"server", 0}}},
		{
			name:        "one fails",
			buildErr:    func(t string) error { return map[string]error{"server": errCompile}[t] },
			wantCommits: []rec{{"client", 0}},
		},
		{
			name:     "unavailable",
			buildErr: func(string) error { return fmt.Errorf("dial: %w", loop.ErrUnavailable) },
			wantErr:  loop.ErrUnavailable,
		},
		{name: "restarts run targets", run: true, wantOK: true, wantCommits: []rec{{"client", 0}, {"server", 0}}, wantRestart: []rec{{"server", 0}}},
		{name: "restart fails", run: true, restartErr: errors.New("exec"), wantCommits: []rec{{"client", 0}, {"server", 0}}, wantRestart: []rec{{"server", 0}}},
		{name: "interrupted", cancelAt: 5 * time.Second, wantErr: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWorld()
				if tt.buildErr != nil {
					w.buildErr = func(_ int, target string, _ int) error { return tt.buildErr(target) }
				}
				w.restartErr = func(string) error { return tt.restartErr }
				opts := loop.Options{Targets: []string{"client", "server"}, Builder: w}
				if tt.run {
					opts.Run, opts.Restarter = map[string]bool{"server": true}, w
				}
				rec := &recorder{}
				opts.Events = rec.add
				l, err := loop.New(opts)
				if err != nil {
					t.Fatalf("New() error = %v", err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				if tt.cancelAt > 0 {
					time.AfterFunc(tt.cancelAt, cancel)
				}
				ok, err := l.Once(ctx)
				if ok != tt.wantOK || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
					t.Errorf("Once() = %v, %v, want %v, %v", ok, err, tt.wantOK, tt.wantErr)
				}
				commits, restarts := w.snapshot()
				if !slices.Equal(commits, tt.wantCommits) || !slices.Equal(restarts, tt.wantRestart) {
					t.Errorf("commits = %v, restarts = %v, want %v, %v", commits, restarts, tt.wantCommits, tt.wantRestart)
				}
				for _, s := range w.staged {
					if s.discards == 0 {
						t.Errorf("staged %s: Discard calls = 0, want ≥ 1", s.call.target)
					}
				}
				checkSequential(t, rec.all())
			})
		})
	}
}

func TestNew(t *testing.T) {
	w := newWorld()
	valid := func() loop.Options {
		return loop.Options{Targets: []string{"client", "server"}, Run: map[string]bool{"server": true}, Builder: w, Restarter: w}
	}
	tests := []struct {
		name    string
		modify  func(*loop.Options)
		wantErr string
	}{
		{"valid", func(*loop.Options) {}, ""},
		{"valid without run", func(o *loop.Options) { o.Run, o.Restarter = nil, nil }, ""},
		{"run false needs no restarter", func(o *loop.Options) { o.Run, o.Restarter = map[string]bool{"server": false}, nil }, ""},
		{"nil builder", func(o *loop.Options) { o.Builder = nil }, "new loop: Builder is nil"},
		{"no targets", func(o *loop.Options) { o.Targets = nil }, "new loop: no targets"},
		{"empty target", func(o *loop.Options) { o.Targets = []string{""} }, "new loop: empty target name"},
		{"duplicate target", func(o *loop.Options) { o.Targets = []string{"a", "a"} }, `new loop: duplicate target "a"`},
		{"unknown run target", func(o *loop.Options) { o.Run = map[string]bool{"db": true} }, `new loop: run target "db" is not in Targets`},
		{"run without restarter", func(o *loop.Options) { o.Restarter = nil }, `new loop: target "server" has run: but Restarter is nil`},
		{"bad policy", func(o *loop.Options) { o.Policy = 7 }, "new loop: invalid policy Policy(7)"},
		{"negative backoff", func(o *loop.Options) { o.Retry.Initial = -1 }, "new loop: negative retry backoff {Initial:-1ns Max:0s}"},
		{"max below initial", func(o *loop.Options) { o.Retry = loop.Backoff{Initial: time.Minute} }, "new loop: retry max 30s is less than initial 1m0s"},
		{"negative max wait", func(o *loop.Options) { o.MaxWait = -time.Second }, "new loop: negative max wait -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid()
			tt.modify(&opts)
			l, err := loop.New(opts)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr || (err == nil) != (l != nil) {
				t.Errorf("New() = %v, %q, want error %q", l, got, tt.wantErr)
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		in      string
		want    loop.Policy
		wantErr bool
	}{
		{"queue", loop.PolicyQueue, false},
		{"restart", loop.PolicyRestart, false},
		{"", 0, true},
		{"Restart", 0, true},
	}
	for _, tt := range tests {
		got, err := loop.ParsePolicy(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParsePolicy(%q) = %v, %v, want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("ParsePolicy(%q).String() = %q, want %q", tt.in, got.String(), tt.in)
		}
	}
}

func TestEventJSON(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		event loop.Event
		kind  string
		want  map[string]any // a subset of the decoded object
	}{
		{loop.ChangeDetected{Paths: []string{"a.go"}, Overflow: true, Time: at}, "change_detected",
			map[string]any{"paths": []any{"a.go"}, "overflow": true, "time": "2026-01-02T03:04:05Z"}},
		{loop.BuildStarted{ID: 3, Targets: []string{"server"}, Skipped: []string{"client"}, Reason: loop.ReasonRetry, Time: at}, "build_started",
			map[string]any{"id": 3.0, "targets": []any{"server"}, "skipped": []any{"client"}, "reason": "retry"}},
		{loop.TargetFinished{ID: 3, Target: "server", Err: errors.New("boom"), Solve: time.Second, Changed: []string{"server"}, Executables: []string{"server"}}, "target_finished",
			map[string]any{"target": "server", "ok": false, "error": "boom", "solve_ns": 1e9, "changed": []any{"server"}, "executables": []any{"server"}}},
		{loop.BuildFinished{ID: 3, OK: true, Wait: time.Millisecond, Restart: 2 * time.Second, Failed: []string{"x"}}, "build_finished",
			map[string]any{"ok": true, "wait_ns": 1e6, "restart_ns": 2e9, "failed": []any{"x"}}},
		{loop.BuildSuperseded{ID: 4}, "build_superseded", map[string]any{"id": 4.0}},
		{loop.Restarted{ID: 3, Target: "server", Duration: time.Second, Err: errors.New("exec")}, "restarted",
			map[string]any{"target": "server", "duration_ns": 1e9, "error": "exec"}},
		{loop.BuilderUnavailable{Err: loop.ErrUnavailable, RetryIn: 2 * time.Second, Attempt: 3}, "builder_unavailable",
			map[string]any{"error": "builder unavailable", "retry_in_ns": 2e9, "attempt": 3.0}},
		{loop.Skipped{Paths: []string{"README.md"}}, "skipped", map[string]any{"paths": []any{"README.md"}}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			if got := tt.event.Kind(); got != tt.kind {
				t.Errorf("Kind() = %q, want %q", got, tt.kind)
			}
			b, err := json.Marshal(tt.event)
			if err != nil {
				t.Fatalf("json.Marshal() error = %v", err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("json.Unmarshal(%s) error = %v", b, err)
			}
			if got["kind"] != tt.kind {
				t.Errorf("%s: kind = %v, want %q", b, got["kind"], tt.kind)
			}
			for k, v := range tt.want {
				if g, _ := json.Marshal(got[k]); string(g) != mustJSON(t, v) {
					t.Errorf("%s: %s = %s, want %s", b, k, g, mustJSON(t, v))
				}
			}
			if _, ok := got["Err"]; ok {
				t.Errorf("%s: has key Err, want errors only as \"error\"", b)
			}
		})
	}
	// A nil error is omitted.
	b, _ := json.Marshal(loop.Restarted{Target: "server"})
	if strings.Contains(string(b), "error") {
		t.Errorf("json.Marshal(Restarted without Err) = %s, want no error key", b)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%v) error = %v", v, err)
	}
	return string(b)
}

// MarshalEvent writes an event's fields after another head and before more members,
// in one object, without "kind".
func TestMarshalEvent(t *testing.T) {
	head := struct {
		V    int    `json:"v"`
		Type string `json:"type"`
	}{1, "target_finished"}
	ev := loop.TargetFinished{ID: 2, Target: "server", Err: errors.New("boom")}
	b, err := loop.MarshalEvent(head, ev, map[string]any{"step": "RUN go build"}, map[string]any(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"v":1,"type":"target_finished","id":2,"target":"server","ok":false,"solve_ns":0,"export_ns":0,"swap_ns":0,"error":"boom","step":"RUN go build"}`
	if string(b) != want {
		t.Errorf("MarshalEvent() = %s, want %s", b, want)
	}
	if b, err := loop.MarshalEvent(struct{}{}, loop.BuildSuperseded{ID: 1}); err != nil || string(b) != `{"id":1}` {
		t.Errorf("MarshalEvent(empty head) = %s, %v; want {\"id\":1}", b, err)
	}
	if _, err := loop.MarshalEvent("not an object", ev); err == nil {
		t.Errorf("MarshalEvent(string head) error = nil, want one")
	}
}
