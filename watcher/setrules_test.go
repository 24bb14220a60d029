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
	if err := h.w.SetRules(context.Background(), next); err != nil {
		t.Fatalf("SetRules() = %v", err)
	}
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
	if err := h.w.SetRules(context.Background(), other); err == nil {
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
	if err := w.SetRules(context.Background(), newTestRules(t, RulesOptions{Root: root})); err == nil {
		t.Error("SetRules() after Run returned = nil, want an error")
	}
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
