package watcher

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap/zaptest"
)

// SetRules re-scans the context by the new rules: a directory the new ignore file
// excludes loses its watch and its edits are no longer reported; one only the old
// watch.ignore hid gets a watch, including directories created in it later.
func TestSetRules(t *testing.T) {
	root := t.TempDir()
	mkdirs(t, root, "src", "gen/deep", "docs")
	h := startWatcher(t, RulesOptions{Root: root, Ignore: []string{"docs"}})
	h.wantWatchCount(4) // root, src, gen, gen/deep

	h.write("docs/a.md")
	h.write("gen/deep/x.go")
	h.waitFor("gen/deep/x.go")
	h.expectNone("docs/a.md")

	writeFile(t, filepath.Join(root, ".dockerignore"), "gen\n")
	next := newTestRules(t, RulesOptions{Root: root})
	applied, err := h.w.SetRules(next)
	if err != nil {
		t.Fatalf("SetRules() = %v", err)
	}
	<-applied
	h.wantWatchCount(3) // root, src, docs
	h.write("gen/deep/y.go")
	h.write("docs/b.md")
	h.waitFor("docs/b.md")
	h.expectNone("gen/deep/y.go")
	mkdirs(t, root, "docs/new")
	h.write("docs/new/c.md")
	h.waitFor("docs/new/c.md")

	// Rules for another root are refused; the watcher keeps the rules it has.
	other := newTestRules(t, RulesOptions{Root: t.TempDir()})
	if _, err := h.w.SetRules(other); err == nil {
		t.Error("SetRules(rules of another root) = nil, want an error")
	}
	h.write("docs/d.md")
	h.waitFor("docs/d.md")
}

// SetRules on a watcher that is not running fails instead of blocking.
func TestSetRulesAfterRun(t *testing.T) {
	root := t.TempDir()
	w, err := New(Options{Rules: newTestRules(t, RulesOptions{Root: root}), Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, make(chan Event)) }()
	<-w.Ready()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v", err)
	}
	applied, err := w.SetRules(newTestRules(t, RulesOptions{Root: root}))
	if err == nil {
		t.Error("SetRules() after Run returned = nil, want an error")
	}
	<-applied // closed: nobody waits forever
}

// A timing that changes while DebounceFunc runs applies from the next event on.
func TestDebounceFuncTimingChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var quiet atomic.Int64
		quiet.Store(int64(50 * ms))
		timing := func() Timing { return Timing{Quiet: time.Duration(quiet.Load()), MaxWait: 10 * time.Second} }
		in, out := make(chan Event), make(chan Batch)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go func() { _ = DebounceFunc(ctx, timing, in, out) }()

		start := time.Now()
		in <- ev("a.go")
		<-out
		if got := time.Since(start); got != 50*ms {
			t.Errorf("first batch after %v, want 50ms", got)
		}
		quiet.Store(int64(500 * ms))
		start = time.Now()
		in <- ev("b.go")
		b := <-out
		if got := time.Since(start); got != 500*ms || len(b.Paths) != 1 || b.Paths[0] != "b.go" {
			t.Errorf("batch %v after %v, want [b.go] after the new 500ms", b.Paths, got)
		}
	})
}

// SetRules does not wait for Run: the caller may be the one Run is blocked sending an
// event to (up's pipeline reloads the ignore file from the goroutine that reads the
// watcher's events). The rules apply once Run is free again.
func TestSetRulesWhileRunIsBlocked(t *testing.T) {
	root := t.TempDir()
	mkdirs(t, root, "src", "gen")
	w, err := New(Options{Rules: newTestRules(t, RulesOptions{Root: root}), Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan Event) // not read until the rules are set
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, events) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	}()
	<-w.Ready()
	writeFile(t, filepath.Join(root, "src", "a.go"), "x") // Run blocks sending this

	writeFile(t, filepath.Join(root, ".dockerignore"), "gen\n")
	returned := make(chan struct{})
	var applied <-chan struct{}
	go func() {
		defer close(returned)
		applied, err = w.SetRules(newTestRules(t, RulesOptions{Root: root}))
	}()
	select {
	case <-returned:
	case <-time.After(eventTimeout):
		t.Fatal("SetRules blocked while Run was sending an event")
	}
	if err != nil {
		t.Fatalf("SetRules() = %v", err)
	}
	if ev := <-events; len(ev.Paths) != 1 || ev.Paths[0] != "src/a.go" {
		t.Errorf("event = %+v, want src/a.go", ev)
	}
	go func() { // the .dockerignore write's event, and any other
		for {
			select {
			case <-events:
			case <-ctx.Done():
				return
			}
		}
	}()
	select {
	case <-applied:
	case <-time.After(eventTimeout):
		t.Fatal("rules not applied once Run was free")
	}
	if got := w.WatchCount(); got != 2 { // root, src
		t.Errorf("WatchCount() = %d after the new rules, want 2", got)
	}
}
