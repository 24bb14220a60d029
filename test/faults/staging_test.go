//go:build e2e && linux

package faults

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fsnotify/fsnotify"
)

// stagingWatch fires when an entry matching a predicate appears in devloop's staging
// area (<project>/.devloop/staging, two levels deep: <target>-<rand>/journal.json
// and <target>-<rand>/out/...), so a fault can be injected at a precise phase of an
// export: the first staged file (BuildKit exporting) or the journal (the swap).
type stagingWatch struct {
	root  string
	match func(rel string) bool
	w     *fsnotify.Watcher
	fired chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

// watchStaging starts watching dir's staging area; call close when done.
func watchStaging(t *testing.T, dir string, match func(rel string) bool) *stagingWatch {
	t.Helper()
	root := filepath.Join(dir, ".devloop", "staging")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	s := &stagingWatch{root: root, match: match, w: w, fired: make(chan struct{})}
	if err := w.Add(root); err != nil {
		w.Close()
		t.Fatal(err)
	}
	s.scan(root)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) {
					s.seen(ev.Name)
				}
			case _, ok := <-w.Errors:
				if !ok {
					return
				}
			}
		}
	}()
	return s
}

// seen handles a new path: fire if it matches, watch and scan it if it is a directory
// of the staging layout (entries created before the watch was added are found by the
// scan).
func (s *stagingWatch) seen(path string) {
	rel, err := filepath.Rel(s.root, path)
	if err != nil {
		return
	}
	if s.match(filepath.ToSlash(rel)) {
		s.once.Do(func() { close(s.fired) })
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() {
		return
	}
	if strings.Count(filepath.ToSlash(rel), "/") >= 2 {
		return
	}
	if err := s.w.Add(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
	s.scan(path)
}

func (s *stagingWatch) scan(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		s.seen(filepath.Join(dir, e.Name()))
	}
}

// close stops the watch and waits for its goroutine.
func (s *stagingWatch) close() {
	s.w.Close()
	s.wg.Wait()
}
