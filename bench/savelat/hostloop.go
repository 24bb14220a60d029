package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sync/errgroup"
)

// hostLoop is the FLOOR and NAIVE loop, run inside the harness: inotify over the whole
// copy (fsnotify, recursive), and on the first relevant event — no debounce — run the
// build command; if it succeeds, stop the server (SIGTERM, wait) and start the new
// binary. Events that arrive during a build queue exactly one more build.
type hostLoop struct {
	e      *loopEnv
	build  []string // the build command, run in the copy; writes bin/server
	w      *fsnotify.Watcher
	g      *errgroup.Group
	cancel context.CancelFunc

	server *child // only touched by start, the watch goroutine, and stop after it ended

	mu       sync.Mutex
	building bool
}

// buildTimeout bounds one build of the host loops.
const buildTimeout = 10 * time.Minute

func (h *hostLoop) start(ctx context.Context) error {
	if err := h.rebuild(ctx); err != nil {
		return err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", h.e.dir, err)
	}
	h.w = w
	if err := h.addTree(h.e.dir); err != nil {
		_ = w.Close()
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	h.cancel = cancel
	h.g = &errgroup.Group{}
	h.g.Go(func() error { return h.watch(lctx) }) // ends in stop
	return nil
}

func (h *hostLoop) busy() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.building
}

func (h *hostLoop) stop() error {
	if h.cancel != nil {
		h.cancel()
		_ = h.g.Wait()
		_ = h.w.Close()
	}
	if h.server == nil {
		return nil
	}
	return h.server.stop(5 * time.Second)
}

// watch reacts to file events until ctx ends.
func (h *hostLoop) watch(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-h.w.Errors:
			h.e.log.add("[bench] watch error: " + err.Error())
		case ev := <-h.w.Events:
			if !h.relevant(ev) {
				continue
			}
			h.setBuilding(true)
			h.drain()
			if err := h.rebuild(ctx); err != nil && ctx.Err() == nil {
				h.e.log.add("[bench] " + err.Error())
			}
			h.setBuilding(false)
		}
	}
}

func (h *hostLoop) setBuilding(b bool) {
	h.mu.Lock()
	h.building = b
	h.mu.Unlock()
	h.e.log.touch()
}

// drain consumes the events already queued: they are covered by the build about to
// start.
func (h *hostLoop) drain() {
	for {
		select {
		case ev := <-h.w.Events:
			h.relevant(ev)
		default:
			return
		}
	}
}

// relevant reports whether ev should trigger a build, and watches new directories.
func (h *hostLoop) relevant(ev fsnotify.Event) bool {
	rel, err := filepath.Rel(h.e.dir, ev.Name)
	if err != nil || ignoredPath(rel) || ev.Op == fsnotify.Chmod {
		return false
	}
	if ev.Has(fsnotify.Create) {
		if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
			if err := h.addTree(ev.Name); err != nil {
				h.e.log.add("[bench] " + err.Error())
			}
		}
	}
	return true
}

// addTree watches dir and every directory below it that is not ignored.
func (h *hostLoop) addTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		if !d.IsDir() {
			return nil
		}
		if rel, _ := filepath.Rel(h.e.dir, p); rel != "." && ignoredPath(rel) {
			return filepath.SkipDir
		}
		if err := h.w.Add(p); err != nil {
			return fmt.Errorf("watch %s: %w", p, err)
		}
		return nil
	})
}

// ignoredPath reports whether a path (relative to the copy) must not trigger a build: the
// loops' own outputs and editors' temporary files, the way every reloader ignores them.
func ignoredPath(rel string) bool {
	first, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	switch first {
	case "bin", "tmp", ".devloop", ".git":
		return true
	}
	base := filepath.Base(rel)
	for _, suffix := range []string{"~", tempSuffix, "___jb_old___", ".swp", ".swx", ".swo"} {
		if strings.HasSuffix(base, suffix) {
			return true
		}
	}
	return base == "4913" || strings.HasPrefix(base, ".#") || strings.HasPrefix(base, ".goutputstream-")
}

// rebuild runs the build command and, if it succeeds, replaces the server process.
func (h *hostLoop) rebuild(ctx context.Context) error {
	h.e.log.add("[bench] build: " + strings.Join(h.build, " "))
	bctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(bctx, h.build[0], h.build[1:]...)
	cmd.Dir = h.e.dir
	cmd.Env = h.e.env
	cmd.SysProcAttr = newGroupAttr()
	cmd.Cancel = func() error { return signalGroup(cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	for _, ln := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if ln != "" {
			h.e.log.add(ln)
		}
	}
	if err != nil {
		return fmt.Errorf("build in %s: %s: %w", h.e.dir, strings.Join(h.build, " "), err)
	}
	if h.server != nil {
		if err := h.server.stop(5 * time.Second); err != nil {
			h.e.log.add("[bench] " + err.Error())
		}
		h.server = nil
	}
	srv, err := startChild(h.e.dir, h.e.env, h.e.log, filepath.Join(h.e.dir, "bin", "server"), "--addr", h.e.addr)
	if err != nil {
		return err
	}
	h.server = srv
	return nil
}
