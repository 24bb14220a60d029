package exporter

import (
	"maps"
	"path/filepath"
	"slices"
	"sync"

	"github.com/devloop/devloop/internal/ospath"
)

// Outputs is the output registry: the absolute paths of the files devloop wrote,
// which must stay out of the build context and the watch set. Exporters given it
// in [Options.Outputs] add the files of their target's last export when created and
// every file and symlink of a staged tree when [Staging.Commit] has listed it, before
// the first rename, so a watcher consulting the set never takes a swap for an edit.
// Callers add other files devloop writes (its own log file). Paths are cleaned; the
// set only grows. It is safe for concurrent use.
type Outputs struct {
	mu sync.Mutex
	m  map[string]bool
}

// NewOutputs returns an empty registry.
func NewOutputs() *Outputs { return &Outputs{m: map[string]bool{}} }

// Add records the absolute path p.
func (o *Outputs) Add(p string) {
	o.mu.Lock()
	o.m[filepath.Clean(p)] = true
	o.mu.Unlock()
}

// addFiles records files, slash paths relative to dir.
func (o *Outputs) addFiles(dir string, files []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, f := range files {
		o.m[filepath.Join(dir, filepath.FromSlash(f))] = true
	}
}

// List returns every path recorded, sorted.
func (o *Outputs) List() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Sorted(maps.Keys(o.m))
}

// Contains reports whether p is a path recorded or a directory holding one.
func (o *Outputs) Contains(p string) bool {
	p = filepath.Clean(p)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m[p] {
		return true
	}
	for q := range o.m {
		if _, ok := ospath.Child(p, q); ok {
			return true
		}
	}
	return false
}
