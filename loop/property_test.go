package loop_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/devloop/devloop/loop"
)

// TestRandomChanges drives the loop with random changes at random times against a
// builder with random durations, compile errors and outages, under both policies,
// and checks the loop's invariants.
func TestRandomChanges(t *testing.T) {
	for _, policy := range []loop.Policy{loop.PolicyQueue, loop.PolicyRestart} {
		for seed := range uint64(60) {
			t.Run(fmt.Sprintf("%v/seed=%d", policy, seed), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) { randomRun(t, policy, seed) })
			})
		}
	}
}

func randomRun(t *testing.T, policy loop.Policy, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(policy)))
	randDur := func(upTo time.Duration) time.Duration { return time.Duration(rng.Int64N(int64(upTo))) }

	type edit struct {
		gap   time.Duration
		paths []string
	}
	files := []string{"a.go", "b.go", "c.go", "d.go"}
	edits := make([]edit, 1+rng.IntN(25))
	for i := range edits {
		if rng.IntN(4) > 0 { // some edits arrive at the same instant as the previous one
			edits[i].gap = randDur(4 * time.Second)
		}
		edits[i].paths = []string{files[rng.IntN(len(files))], files[rng.IntN(len(files))]}
	}
	final := len(edits)
	broken := make(map[int]bool) // source versions that do not compile; never the final one
	for v := range final {
		broken[v] = rng.IntN(6) == 0
	}

	targets := []string{"a", "b", "c"}
	w := newWorld()
	// The world calls these with w.mu held, which also guards rng.
	w.buildTime = func(int, string) time.Duration { return randDur(3 * time.Second) }
	w.buildErr = func(_ int, target string, v int) error {
		switch {
		case broken[v] && target == "b":
			return errors.New("compile error")
		case rng.IntN(15) == 0:
			return fmt.Errorf("dial buildkitd: %w", loop.ErrUnavailable)
		}
		return nil
	}
	w.unchanged = func(string, int) bool { return rng.IntN(3) == 0 }
	w.restartTime = func(string) time.Duration { return randDur(time.Second) }

	h := start(t, w, loop.Options{Targets: targets, Run: map[string]bool{"a": true, "c": true}, Policy: policy})
	for _, e := range edits {
		advance(e.gap)
		h.edit(e.paths...)
	}
	advance(10 * time.Minute)
	h.stop() // checks: no commit of a superseded build, one job at a time, staging cleaned up

	// The last committed version of every target is the last edit.
	w.mu.Lock()
	for _, tg := range targets {
		if got := w.committed[tg]; got != final {
			t.Errorf("committed version of %s = %d, want %d (last edit)", tg, got, final)
		}
	}
	w.mu.Unlock()

	events := h.rec.all()
	superseded := make(map[int]bool)
	for _, e := range events {
		if e, ok := e.(loop.BuildSuperseded); ok {
			superseded[e.ID] = true
		}
	}
	if policy == loop.PolicyQueue && len(superseded) > 0 {
		t.Errorf("PolicyQueue superseded builds %v, want none", superseded)
	}

	var (
		lastStart        = -1     // index of the previous BuildStarted
		prevPaths        []string // its paths
		carry            bool     // the previous build was superseded or found the builder unavailable
		changedSince     []string // paths of ChangeDetected since the previous BuildStarted
		changesSince     int      // how many
		lastChange       = -1     // index of the last ChangeDetected
		unavailableAfter = map[int]bool{}
	)
	for i, e := range events {
		switch e := e.(type) {
		case loop.ChangeDetected:
			changedSince = append(changedSince, e.Paths...)
			changesSince++
			lastChange = i
		case loop.BuildStarted:
			if e.Reason == loop.ReasonChange && changesSince == 0 {
				t.Errorf("build %d started for changes, but no change arrived since the previous build", e.ID)
			}
			if !containsAll(e.Paths, changedSince) {
				t.Errorf("build %d paths = %v, want all changes since the previous build %v", e.ID, e.Paths, changedSince)
			}
			if carry && !containsAll(e.Paths, prevPaths) {
				t.Errorf("build %d paths = %v, want the unfinished previous build's paths %v", e.ID, e.Paths, prevPaths)
			}
			lastStart, prevPaths, changedSince, changesSince, carry = i, e.Paths, nil, 0, false
		case loop.BuildFinished:
			carry = e.Superseded || unavailableAfter[e.ID]
			if superseded[e.ID] != e.Superseded {
				t.Errorf("BuildFinished{ID: %d}.Superseded = %v, want %v", e.ID, e.Superseded, superseded[e.ID])
			}
		case loop.TargetFinished:
			if e.OK && superseded[e.ID] {
				t.Errorf("superseded build %d committed %s", e.ID, e.Target)
			}
			if errors.Is(e.Err, loop.ErrUnavailable) {
				unavailableAfter[e.ID] = true
			}
		case loop.Restarted:
			if superseded[e.ID] {
				t.Errorf("superseded build %d restarted %s", e.ID, e.Target)
			}
		case loop.Skipped:
			t.Errorf("Skipped%v without an Affects hook", e.Paths)
		}
	}
	if lastStart < lastChange {
		t.Errorf("no build started after the last change (event %d, last build start event %d)", lastChange, lastStart)
	}
	if t.Failed() {
		t.Logf("policy %v seed %d: %d edits, broken versions %v", policy, seed, final, broken)
	}
}

func containsAll(set, sub []string) bool {
	for _, s := range sub {
		if !slices.Contains(set, s) {
			return false
		}
	}
	return true
}
