package watcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/devloop/devloop/internal/ospath"
	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// Options configures [New].
type Options struct {
	// Rules decide what is watched. Required.
	Rules *Rules
	// Logger receives diagnostics; nil discards them.
	Logger *zap.Logger
}

// Event reports one file-system change.
type Event struct {
	// Paths are the changed paths (created, written, removed or renamed),
	// slash-separated, relative to the context root, without duplicates. A
	// directory that appears brings every watched path inside it.
	Paths []string
	// Overflow means the kernel dropped events: something changed but what is
	// unknown, so the caller must build.
	Overflow bool
}

// Watcher watches the build context recursively. It is used by a single call
// to [Watcher.Run].
type Watcher struct {
	rules   *Rules
	log     *zap.Logger
	ready   chan struct{}
	started atomic.Bool
	count   atomic.Int64
	swap    chan struct{} // capacity 1: SetRules left rules in pending
	stopped chan struct{} // closed when Run returns

	mu      sync.Mutex
	pending *Rules          // the rules SetRules asked for, nil once Run took them
	applied []chan struct{} // closed once Run watches by pending (or returned)

	vmu      sync.Mutex
	seq      uint64            // counts the changes DirVersion reflects
	epoch    uint64            // seq when every directory was last invalidated at once
	versions map[string]uint64 // watched directory → seq of the last change in it
}

// New returns a Watcher; watching starts with [Watcher.Run].
func New(opts Options) (*Watcher, error) {
	if opts.Rules == nil {
		return nil, errors.New("new watcher: no rules")
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Watcher{
		rules: opts.Rules, log: log.Named("watcher"), ready: make(chan struct{}),
		swap: make(chan struct{}, 1), stopped: make(chan struct{}), versions: map[string]uint64{},
	}, nil
}

// DirVersion returns a number that changes whenever an entry of the directory dir
// (absolute) may have changed — created, written, removed, renamed, its mode, times,
// owner, links or extended attributes changed — and false when the watcher cannot
// vouch for dir: it does not watch it (pruned, ignored, not yet seen) or is not
// running. Every change is counted before the watcher reports it, so a caller that
// acts on a reported change sees its version. A kernel queue overflow or new rules
// change every directory's version.
//
// A directory's version also changes when an entry of one of its subdirectories is
// created, removed or renamed: that changes the subdirectory's own modification time.
// It lets a caller keep what it read of a directory (its entries and their metadata)
// until the version changes: package rebuild's context cache does.
func (w *Watcher) DirVersion(dir string) (uint64, bool) {
	w.vmu.Lock()
	defer w.vmu.Unlock()
	v, ok := w.versions[filepath.Clean(dir)]
	return max(v, w.epoch), ok
}

// touch counts a change in each of the given directories that is watched.
func (w *Watcher) touch(dirs ...string) {
	w.vmu.Lock()
	defer w.vmu.Unlock()
	w.seq++
	for _, d := range dirs {
		if _, ok := w.versions[d]; ok {
			w.versions[d] = w.seq
		}
	}
}

// touchAll changes every directory's version.
func (w *Watcher) touchAll() {
	w.vmu.Lock()
	defer w.vmu.Unlock()
	w.seq++
	w.epoch = w.seq
}

// vouch starts (watched) or stops vouching for dir.
func (w *Watcher) vouch(dir string, watched bool) {
	w.vmu.Lock()
	defer w.vmu.Unlock()
	w.seq++
	if watched {
		w.versions[dir] = w.seq
	} else {
		delete(w.versions, dir)
	}
}

// Ready is closed once the initial recursive watch is set up. It stays open if
// Run fails before that.
func (w *Watcher) Ready() <-chan struct{} { return w.ready }

// WatchCount returns the number of directories currently watched.
func (w *Watcher) WatchCount() int { return int(w.count.Load()) }

// eventBuffer lets fsnotify keep reading the kernel queue while Run is busy
// scanning a new directory.
const eventBuffer = 1024

// Run watches every watched directory, then sends an Event on out for every
// change until ctx is done, when it returns nil. It returns an error if the
// context root cannot be watched, the watch limit is reached, or the root
// disappears.
func (w *Watcher) Run(ctx context.Context, out chan<- Event) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("run watcher: already running")
	}
	defer w.stop()
	fsw, err := fsnotify.NewBufferedWatcher(eventBuffer)
	if err != nil {
		if lerr := instanceLimitError(err); lerr != nil {
			return lerr
		}
		return fmt.Errorf("run watcher: start fsnotify: %w", err)
	}
	defer fsw.Close()

	s := &watchSet{w: w, rules: w.rules, fsw: fsw, dirs: make(map[string]struct{})}
	start := time.Now()
	if err := s.watchAll(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	w.log.Info("watching", zap.String("root", w.rules.root), zap.Int("dirs", len(s.dirs)),
		zap.Duration("took", time.Since(start)))
	close(w.ready)

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.swap:
			w.mu.Lock()
			r, applied := w.pending, w.applied
			w.pending, w.applied = nil, nil
			w.mu.Unlock()
			err := s.setRules(ctx, r)
			for _, c := range applied {
				close(c)
			}
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		case fev, ok := <-fsw.Events:
			if !ok {
				return errors.New("run watcher: fsnotify event stream closed")
			}
			w.touched(fev)
			paths, err := s.handle(ctx, fev)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if len(paths) == 0 {
				continue
			}
			if ce := w.log.Check(zap.DebugLevel, "change"); ce != nil {
				ce.Write(zap.Strings("paths", paths), zap.Stringer("op", fev.Op))
			}
			if !send(ctx, out, Event{Paths: paths}) {
				return nil
			}
		case err, ok := <-fsw.Errors:
			if !ok {
				return errors.New("run watcher: fsnotify error stream closed")
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				w.log.Warn("file watcher error", zap.Error(err))
				continue
			}
			w.log.Warn("kernel event queue overflowed; rescanning the context")
			w.touchAll()
			// Directories created meanwhile may be unwatched: rescan.
			if err := s.watchAll(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if !send(ctx, out, Event{Overflow: true}) {
				return nil
			}
		}
	}
}

// SetRules makes the watcher judge paths by new rules (after the ignore file or
// watch.ignore changed): directories the new rules descend into get a watch, those
// they prune lose theirs, and later events are reported by the new rules. Files the
// rescan finds are not reported as changes. The rules must have the same root.
//
// SetRules does not wait: Run's goroutine rescans as soon as it is free (it may be
// waiting for its reader, who may be the caller). applied is closed once the watch
// set follows r, a later SetRules's rules, or Run has returned (an error that ends
// Run, such as a watch limit reached by the rescan, is Run's to return). Rules set
// before Run has set up its watches are applied right after.
func (w *Watcher) SetRules(r *Rules) (applied <-chan struct{}, err error) {
	if r == nil {
		return nil, errors.New("set watch rules: no rules")
	}
	if r.root != w.rules.root {
		return nil, fmt.Errorf("set watch rules: the context root cannot change: %s, was %s", r.root, w.rules.root)
	}
	done := make(chan struct{})
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.stopped:
		close(done)
		return done, errors.New("set watch rules: the watcher is not running")
	default:
	}
	w.pending = r
	w.applied = append(w.applied, done)
	select {
	case w.swap <- struct{}{}:
	default: // Run has yet to take the previous one: it takes r with it
	}
	return done, nil
}

// touched counts the change one fsnotify event reports, whatever the rules say of its
// path (a watch-ignored file is still sent when a "!" line of the ignore file names
// it): in the directory holding the path, in the path itself if it is a watched
// directory, and for an entry created, removed or renamed in the directory above,
// whose listing holds the directory's modification time.
func (w *Watcher) touched(ev fsnotify.Event) {
	name := filepath.Clean(ev.Name)
	dir := filepath.Dir(name)
	if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		w.touch(name, dir, filepath.Dir(dir))
		return
	}
	w.touch(name, dir)
}

// stop marks the watcher stopped and releases the callers of SetRules.
func (w *Watcher) stop() {
	w.vmu.Lock()
	clear(w.versions)
	w.vmu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.stopped)
	for _, c := range w.applied {
		close(c)
	}
	w.applied = nil
}

// setRules switches the watch set to r and rescans the context.
func (s *watchSet) setRules(ctx context.Context, r *Rules) error {
	s.rules = r
	s.w.touchAll()
	start := time.Now()
	if err := s.watchAll(ctx); err != nil {
		return err
	}
	s.w.log.Info("watch rules replaced", zap.Int("dirs", len(s.dirs)), zap.Duration("took", time.Since(start)))
	return nil
}

func send(ctx context.Context, out chan<- Event, ev Event) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// watchSet is the state of one Run — the fsnotify watches and the directories they
// cover — owned by its goroutine.
type watchSet struct {
	w     *Watcher
	rules *Rules
	fsw   *fsnotify.Watcher
	dirs  map[string]struct{} // absolute paths of watched directories
}

// errSkip means a directory could not be watched but watching goes on.
var errSkip = errors.New("skip directory")

// watchAll (re)builds the whole watch set: every directory the rules descend
// into plus the directories holding always-watched files. Watches on
// directories no longer found are dropped.
func (s *watchSet) watchAll(ctx context.Context) error {
	old := s.dirs
	s.dirs = make(map[string]struct{}, len(old))
	err := s.scan(ctx, s.rules.root, scanRoot, nil)
	if err == nil {
		for _, p := range s.rules.alwaysAbs {
			dir := filepath.Dir(p)
			if _, ok := s.dirs[dir]; ok {
				continue
			}
			if err = s.add(dir); errors.Is(err, errSkip) {
				err = nil
			}
			if err != nil {
				break
			}
		}
	}
	for dir := range old {
		if _, ok := s.dirs[dir]; !ok {
			_ = s.fsw.Remove(dir) // already gone if the directory was deleted
			s.w.vouch(dir, false)
		}
	}
	s.w.count.Store(int64(len(s.dirs)))
	return err
}

// Values of scan's isRoot.
const (
	scanRoot   = true // the context root: a symlink to a directory is followed
	scanSubdir = false
)

// scan watches dir and every directory below it the rules descend into. With
// changed non-nil it appends every watched path found (dir included) to it.
func (s *watchSet) scan(ctx context.Context, dir string, isRoot bool, changed *[]string) error {
	start := dir
	if isRoot {
		// A trailing separator makes WalkDir follow a symlinked root.
		start = dir + string(filepath.Separator)
	}
	return filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
		if path == start {
			path = dir
		}
		if err != nil {
			if isRoot && path == dir {
				return fmt.Errorf("watch context root %s: %w", dir, err)
			}
			if !errors.Is(err, fs.ErrNotExist) {
				s.w.log.Warn("skip unreadable path", zap.String("path", path), zap.Error(err))
			}
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() {
			if changed != nil {
				if rel := s.rules.rel(path); s.rules.Watched(rel, asFile) {
					*changed = append(*changed, rel)
				}
			}
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel := s.rules.rel(path)
		if !s.rules.descend(rel) {
			return fs.SkipDir
		}
		if err := s.add(path); err != nil {
			if errors.Is(err, errSkip) {
				return fs.SkipDir
			}
			return err
		}
		if changed != nil && path != s.rules.root && s.rules.Watched(rel, asDir) {
			*changed = append(*changed, rel)
		}
		return nil
	})
}

// add watches one directory. It returns errSkip when the directory vanished
// or cannot be watched, and a fatal error when the watch limit is reached.
func (s *watchSet) add(dir string) error {
	err := s.fsw.Add(dir)
	if err == nil {
		s.dirs[dir] = struct{}{}
		s.w.vouch(dir, true)
		s.w.count.Store(int64(len(s.dirs)))
		return nil
	}
	if lerr := watchLimitError(dir, err); lerr != nil {
		return lerr
	}
	if !errors.Is(err, fs.ErrNotExist) {
		s.w.log.Warn("cannot watch directory", zap.String("path", dir), zap.Error(err))
	}
	return errSkip
}

// handle turns one fsnotify event into the changed paths to report.
func (s *watchSet) handle(ctx context.Context, ev fsnotify.Event) ([]string, error) {
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) && !ev.Has(fsnotify.Remove) && !ev.Has(fsnotify.Rename) {
		return nil, nil // chmod only
	}
	name := filepath.Clean(ev.Name)
	rel := s.rules.rel(name)
	var changed []string

	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if name == s.rules.root {
			return nil, fmt.Errorf("watch context root %s: it was removed or renamed", name)
		}
		wasDir := s.drop(name)
		if s.rules.Watched(rel, wasDir) {
			changed = append(changed, rel)
		}
	}
	if ev.Has(fsnotify.Create) {
		// A new directory (created or renamed in) is watched, then scanned:
		// files written into it before the watch was added are reported too.
		// A path already gone again is reported like a file.
		if fi, err := os.Lstat(name); err == nil && fi.IsDir() {
			if err := s.scan(ctx, name, scanSubdir, &changed); err != nil {
				return nil, err
			}
			return dedupe(changed), nil
		}
		if s.rules.Watched(rel, asFile) {
			changed = append(changed, rel)
		}
	} else if ev.Has(fsnotify.Write) && s.rules.Watched(rel, asFile) {
		changed = append(changed, rel)
	}
	return dedupe(changed), nil
}

// drop forgets the watches on dir and everything below it (the kernel drops
// them on removal; a renamed directory keeps them under a stale name). It
// reports whether dir was a watched directory.
func (s *watchSet) drop(dir string) bool {
	if _, ok := s.dirs[dir]; !ok {
		return false
	}
	for p := range s.dirs {
		if _, in := ospath.Child(dir, p); in {
			delete(s.dirs, p)
			_ = s.fsw.Remove(p) // fsnotify may have dropped it already
			s.w.vouch(p, false)
		}
	}
	s.w.count.Store(int64(len(s.dirs)))
	return true
}

func dedupe(paths []string) []string {
	if len(paths) < 2 {
		return paths
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}
