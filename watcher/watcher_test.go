package watcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

// eventTimeout bounds every wait for an event; the machine may be busy.
const eventTimeout = 10 * time.Second

type harness struct {
	t      *testing.T
	root   string
	w      *Watcher
	events chan Event
	seen   []string // every path reported so far
	n      int      // sentinel counter
}

// startWatcher runs a Watcher until the test ends and waits until it is ready.
func startWatcher(t *testing.T, opts RulesOptions) *harness {
	t.Helper()
	w, err := New(Options{Rules: newTestRules(t, opts), Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, root: opts.Root, w: w, events: make(chan Event, 1024)}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, h.events) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil after cancel", err)
		}
	})
	select {
	case <-w.Ready():
	case err := <-done:
		t.Fatalf("Run() = %v before ready", err)
	case <-time.After(eventTimeout):
		t.Fatalf("watcher not ready after %v", eventTimeout)
	}
	return h
}

func (h *harness) path(rel string) string { return filepath.Join(h.root, filepath.FromSlash(rel)) }

func (h *harness) write(rel string) {
	h.t.Helper()
	writeFile(h.t, h.path(rel), "x")
}

// waitFor reads events until every path in want has been reported.
func (h *harness) waitFor(want ...string) {
	h.t.Helper()
	timeout := time.After(eventTimeout)
	for {
		missing := slices.DeleteFunc(slices.Clone(want), func(p string) bool { return slices.Contains(h.seen, p) })
		if len(missing) == 0 {
			return
		}
		select {
		case ev := <-h.events:
			if ev.Overflow {
				h.t.Fatalf("got an overflow event, want paths %q", missing)
			}
			if len(ev.Paths) == 0 {
				h.t.Errorf("got an Event with no paths and no overflow")
			}
			if d := len(ev.Paths) - len(slices.Compact(slices.Sorted(slices.Values(ev.Paths)))); d != 0 {
				h.t.Errorf("Event.Paths = %q has %d duplicates, want none", ev.Paths, d)
			}
			h.seen = append(h.seen, ev.Paths...)
		case <-timeout:
			h.t.Fatalf("after %v: events %q, want %q", eventTimeout, h.seen, missing)
		}
	}
}

// expectNone writes a sentinel file and waits for it: inotify keeps events in
// order, so any event for the paths in notWant would have arrived before.
func (h *harness) expectNone(notWant ...string) {
	h.t.Helper()
	h.n++
	sentinel := fmt.Sprintf("sentinel-%d.txt", h.n)
	h.write(sentinel)
	h.waitFor(sentinel)
	for _, p := range notWant {
		if slices.Contains(h.seen, p) {
			h.t.Errorf("events %q include %q, want no event for it", h.seen, p)
		}
	}
}

func (h *harness) wantWatchCount(want int) {
	h.t.Helper()
	if got := h.w.WatchCount(); got != want {
		h.t.Errorf("WatchCount() = %d, want %d", got, want)
	}
}

func mkdirs(t *testing.T, root string, rels ...string) {
	t.Helper()
	for _, rel := range rels {
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWatchFileChanges(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "src", "main.go"), "package main")
	h := startWatcher(t, RulesOptions{Root: root})
	h.wantWatchCount(2)

	h.write("src/main.go")
	h.waitFor("src/main.go")
	h.write("new.go")
	h.waitFor("new.go")
	if err := os.Remove(h.path("new.go")); err != nil {
		t.Fatal(err)
	}
	h.seen = nil
	h.waitFor("new.go")
	if err := os.Rename(h.path("src/main.go"), h.path("src/app.go")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("src/main.go", "src/app.go")
}

func TestWatchNewNestedDirs(t *testing.T) {
	root := t.TempDir()
	h := startWatcher(t, RulesOptions{Root: root})
	h.wantWatchCount(1)

	// Created at once: the file exists before any watch on a/b/c can be added.
	mkdirs(t, root, "a/b/c")
	h.write("a/b/c/x.go")
	h.waitFor("a", "a/b", "a/b/c", "a/b/c/x.go")
	h.wantWatchCount(4)

	h.write("a/b/c/y.go")
	h.waitFor("a/b/c/y.go")
}

func TestWatchRemoveDir(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a", "b", "c", "x.go"), "x")
	writeFile(t, filepath.Join(root, "keep", "k.go"), "x")
	h := startWatcher(t, RulesOptions{Root: root})
	h.wantWatchCount(5)

	if err := os.RemoveAll(h.path("a")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a")
	h.wantWatchCount(2)

	mkdirs(t, root, "a")
	h.write("a/again.go")
	h.waitFor("a/again.go")
	h.wantWatchCount(3)
}

func TestWatchRenameDir(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "a", "b", "f.go"), "x")
	outside := t.TempDir()
	h := startWatcher(t, RulesOptions{Root: root})
	h.wantWatchCount(3)

	if err := os.Rename(h.path("a"), h.path("z")); err != nil {
		t.Fatal(err)
	}
	h.waitFor("a", "z", "z/b", "z/b/f.go")
	h.wantWatchCount(3)

	// The new watches work and the stale ones are gone.
	h.write("z/b/g.go")
	h.waitFor("z/b/g.go")
	if slices.ContainsFunc(h.seen, func(p string) bool { return strings.HasPrefix(p, "a/") }) {
		t.Errorf("events %q mention paths below the old name a/", h.seen)
	}

	// Moved out of the tree: only the old name is reported and its watches go.
	if err := os.Rename(h.path("z"), filepath.Join(outside, "z")); err != nil {
		t.Fatal(err)
	}
	h.seen = nil
	h.waitFor("z")
	h.wantWatchCount(1)
	writeFile(t, filepath.Join(outside, "z", "b", "h.go"), "x")
	h.expectNone("z/b/h.go")
}

func TestWatchDockerignore(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, ".dockerignore"), "*.md\n!README.md\nbuild/\n!build/keep/x\n")
	mkdirs(t, root, "build/keep", "build/other/deep")
	h := startWatcher(t, RulesOptions{Root: root})
	h.wantWatchCount(3) // root, build, build/keep

	h.write("notes.md")
	h.write("build/out.o")
	h.write("build/keep/y")
	h.write("README.md")
	h.write("build/keep/x")
	h.waitFor("README.md", "build/keep/x")
	h.expectNone("notes.md", "build/out.o", "build/keep/y", "build", "build/keep")

	// The exception also applies to directories created later.
	if err := os.RemoveAll(h.path("build")); err != nil {
		t.Fatal(err)
	}
	h.seen = nil
	h.waitFor("build/keep/x")
	h.expectNone() // the removals of build/keep and build are processed
	h.wantWatchCount(1)
	mkdirs(t, root, "build/keep/x")
	h.write("build/keep/x/inner.go")
	h.waitFor("build/keep/x", "build/keep/x/inner.go")
	h.wantWatchCount(4) // root, build, build/keep, build/keep/x
}

func TestWatchIgnoreGlobs(t *testing.T) {
	root := t.TempDir()
	mkdirs(t, root, "src", "docs/a/b")
	h := startWatcher(t, RulesOptions{Root: root, Ignore: []string{"**/*.gen.go", "docs/**", "**/gen"}})
	h.wantWatchCount(2) // root, src

	h.write("src/x.gen.go")
	h.write("docs/a/readme.txt")
	mkdirs(t, root, "src/gen/v1")
	h.write("src/gen/v1/api.go")
	h.write("src/y.go")
	h.waitFor("src/y.go")
	h.expectNone("src/x.gen.go", "docs/a/readme.txt", "src/gen", "src/gen/v1", "src/gen/v1/api.go")
	h.wantWatchCount(2)
}

func TestWatchPrunesIgnoredTrees(t *testing.T) {
	tests := []struct {
		name   string
		ignore string   // .dockerignore content
		globs  []string // watch.ignore
	}{
		{"dockerignore", "node_modules\n", nil},
		{"watch.ignore", "", []string{"**/node_modules"}},
		{"dockerignore with unrelated exception", "node_modules\n!src/keep.txt\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, filepath.Join(root, ".dockerignore"), tt.ignore)
			for i := range 50 {
				writeFile(t, filepath.Join(root, "node_modules", fmt.Sprintf("pkg%d", i), "sub", "index.js"), "x")
			}
			mkdirs(t, root, "src/a", ".git/objects/ab", ".git/refs/heads")
			h := startWatcher(t, RulesOptions{Root: root, Ignore: tt.globs})
			h.wantWatchCount(3) // root, src, src/a

			h.write("node_modules/pkg1/index.js")
			h.write(".git/index")
			h.write("src/a/main.go")
			h.waitFor("src/a/main.go")
			h.expectNone("node_modules/pkg1/index.js", ".git/index")
		})
	}
}

func TestWatchEditorTempFiles(t *testing.T) {
	root := t.TempDir()
	h := startWatcher(t, RulesOptions{Root: root})
	temps := []string{"4913", "5036", ".x.go.swp", ".x.go.swx", "x.go~", ".#x.go", "#x.go#", "x.go___jb_tmp___", "x.go___jb_old___", ".DS_Store"}
	for _, p := range temps {
		h.write(p)
	}
	h.expectNone(temps...)
}

func TestWatchChmodOnly(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "run.sh"), "#!/bin/sh")
	h := startWatcher(t, RulesOptions{Root: root})
	if err := os.Chmod(h.path("run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.expectNone("run.sh")
}

func TestWatchOutputs(t *testing.T) {
	root := t.TempDir()
	mkdirs(t, root, "bin/sub", ".devloop/staging", "src")
	h := startWatcher(t, RulesOptions{
		Root:    root,
		Outputs: []string{filepath.Join(root, "bin"), filepath.Join(root, ".devloop"), filepath.Join(root, "src", "gen.pb.go")},
	})
	h.wantWatchCount(2) // root, src

	h.write("bin/server")
	h.write(".devloop/staging/server")
	h.write("src/gen.pb.go")
	mkdirs(t, root, "bin/new")
	h.write("src/main.go")
	h.waitFor("src/main.go")
	h.expectNone("bin/server", ".devloop/staging/server", "src/gen.pb.go", "bin/new")
	h.wantWatchCount(2)
}

func TestWatchAlwaysWatch(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "ctx")
	writeFile(t, filepath.Join(root, ".dockerignore"), "Dockerfile\ndocker/\n")
	writeFile(t, filepath.Join(root, "Dockerfile"), "FROM scratch")
	writeFile(t, filepath.Join(root, "docker", "Dockerfile.dev"), "FROM scratch")
	writeFile(t, filepath.Join(base, "devloop.yaml"), "targets: {}")
	h := startWatcher(t, RulesOptions{
		Root: root,
		AlwaysWatch: []string{
			filepath.Join(root, "Dockerfile"),
			filepath.Join(root, "docker", "Dockerfile.dev"),
			filepath.Join(root, ".dockerignore"),
			filepath.Join(base, "devloop.yaml"),
		},
	})
	h.wantWatchCount(3) // ctx, ctx/docker, base

	h.write("docker/other")
	writeFile(t, filepath.Join(base, "other.yaml"), "x")
	h.write("Dockerfile")
	h.write("docker/Dockerfile.dev")
	h.write(".dockerignore")
	writeFile(t, filepath.Join(base, "devloop.yaml"), "targets: {x: {}}")
	h.waitFor("Dockerfile", "docker/Dockerfile.dev", ".dockerignore", "../devloop.yaml")
	h.expectNone("docker/other", "../other.yaml")

	// Editors replace files by renaming a temp file over them.
	writeFile(t, filepath.Join(root, "Dockerfile.tmp"), "FROM busybox")
	if err := os.Rename(filepath.Join(root, "Dockerfile.tmp"), filepath.Join(root, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	h.seen = nil
	h.waitFor("Dockerfile")
}

func TestWatchSymlinkedRoot(t *testing.T) {
	base := t.TempDir()
	mkdirs(t, base, "real/src")
	root := filepath.Join(base, "link")
	if err := os.Symlink(filepath.Join(base, "real"), root); err != nil {
		t.Skipf("symlink: %v", err)
	}
	h := startWatcher(t, RulesOptions{Root: root})
	h.wantWatchCount(2)
	h.write("src/x.go")
	h.waitFor("src/x.go")
}

func TestWatchRootRemoved(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "ctx")
	mkdirs(t, root, "src")
	w, err := New(Options{Rules: newTestRules(t, RulesOptions{Root: root})})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(t.Context(), make(chan Event, 16)) }()
	select {
	case <-w.Ready():
	case <-time.After(eventTimeout):
		t.Fatalf("watcher not ready after %v", eventTimeout)
	}
	if err := os.Rename(root, filepath.Join(base, "moved")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), root) {
			t.Errorf("Run() = %v, want an error naming %s", err, root)
		}
	case <-time.After(eventTimeout):
		t.Fatalf("Run() still running %v after the root was renamed", eventTimeout)
	}
}

func TestRunErrors(t *testing.T) {
	t.Run("missing root", func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "missing")
		w, err := New(Options{Rules: newTestRules(t, RulesOptions{Root: root})})
		if err != nil {
			t.Fatalf("New() error = %v", err)
		}
		err = w.Run(t.Context(), make(chan Event))
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), root) {
			t.Errorf("Run() = %v, want a not-exist error naming %s", err, root)
		}
	})
	t.Run("twice", func(t *testing.T) {
		w, err := New(Options{Rules: newTestRules(t, RulesOptions{Root: t.TempDir()})})
		if err != nil {
			t.Fatalf("New() error = %v", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := w.Run(ctx, make(chan Event)); err != nil {
			t.Errorf("first Run() on a cancelled context = %v, want nil", err)
		}
		if err := w.Run(ctx, make(chan Event)); err == nil {
			t.Errorf("second Run() = nil, want an error")
		}
	})
	t.Run("no rules", func(t *testing.T) {
		if _, err := New(Options{}); err == nil {
			t.Errorf("New(Options{}) error = nil, want an error")
		}
	})
}

// BenchmarkInitialWatch measures time to ready on a generated tree: dirs×files
// watched files plus an ignored node_modules of the same size.
func BenchmarkInitialWatch(b *testing.B) {
	const dirs, files = 100, 100
	root := b.TempDir()
	for _, top := range []string{"src", "node_modules"} {
		for d := range dirs {
			dir := filepath.Join(root, top, fmt.Sprintf("d%03d", d/10), fmt.Sprintf("d%03d", d))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
			for f := range files {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d.go", f)), nil, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	if err := os.WriteFile(filepath.Join(root, ".dockerignore"), []byte("node_modules\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	rules, err := NewRules(RulesOptions{Root: root})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		w, err := New(Options{Rules: rules})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx, make(chan Event)) }()
		select {
		case <-w.Ready():
		case err := <-done:
			b.Fatalf("Run() = %v before ready", err)
		}
		b.ReportMetric(float64(w.WatchCount()), "watches")
		cancel()
		if err := <-done; err != nil {
			b.Fatalf("Run() = %v", err)
		}
	}
}
