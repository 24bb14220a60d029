package main

import (
	"context"
	"path"
	"sync"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/godeps"
	"github.com/devloop/devloop/rebuild"
	"go.uber.org/zap"
)

// targetInputs knows, for Go targets, which directories of the build context feed each
// target's binaries (the packages its `go build` compiles and everything they import),
// so a change in a package only one target uses does not rebuild the others. A target
// whose inputs cannot be determined (no go build found, a package outside the context,
// no go command on the host) is affected by every change.
type targetInputs struct {
	cfg     *config.Config
	targets []*config.Target
	log     *zap.Logger

	mu   sync.Mutex
	dirs map[string]map[string]bool // target → context dirs; missing: unknown
}

func newTargetInputs(cfg *config.Config, targets []*config.Target, log *zap.Logger) *targetInputs {
	return &targetInputs{cfg: cfg, targets: targets, log: log, dirs: map[string]map[string]bool{}}
}

// refresh recomputes every target's inputs from the Dockerfile and `go list`.
func (ti *targetInputs) refresh(ctx context.Context) {
	df, err := rebuild.ParseDockerfile(ti.cfg.Dockerfile)
	next := map[string]map[string]bool{}
	for _, t := range ti.targets {
		if err != nil {
			break
		}
		pkgs, ok := df.GoPackages(t.Stage, ti.cfg.Context)
		if !ok {
			continue
		}
		deps, lerr := godeps.Dirs(ctx, ti.cfg.Context, pkgs)
		if lerr != nil {
			ti.log.Debug("target inputs unknown", zap.String("target", t.Name), zap.Error(lerr))
			continue
		}
		set := map[string]bool{}
		for _, d := range deps {
			set[d] = true
		}
		next[t.Name] = set
	}
	ti.mu.Lock()
	ti.dirs = next
	ti.mu.Unlock()
}

// affects implements loop.Options.Affects.
func (ti *targetInputs) affects(target string, paths []string) bool {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	mine, known := ti.dirs[target]
	if !known {
		return true
	}
	for _, p := range paths {
		dir := path.Dir(p)
		if mine[dir] {
			return true
		}
		// A directory that feeds another target but not this one cannot change this
		// target's binary; anything else (go.mod, the Dockerfile, a new package, a
		// data file) might.
		owned := false
		for name, set := range ti.dirs {
			if name != target && set[dir] {
				owned = true
				break
			}
		}
		if !owned || isGoGlobal(p) {
			return true
		}
	}
	return false
}

// isGoGlobal reports files that affect every Go package.
func isGoGlobal(p string) bool {
	switch path.Base(p) {
	case "go.mod", "go.sum", "go.work", "go.work.sum":
		return true
	}
	return false
}
