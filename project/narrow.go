package project

import (
	"context"
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/devloop/devloop/godeps"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/devloop/devloop/rebuild"
	"go.uber.org/zap"
)

// narrowing is the part of the build context a target's build reads, as a refresh
// learnt it: what devloop.yaml's only: lists, or, for a target whose inputs are
// known, the paths its stages copy, bind or read and everything its go builds read —
// the packages' directories, embedded trees, module files, the directories the go
// commands run in and the VCS directories go build stamps from. Only that is sent
// to BuildKit (rebuild.Request.Only), and a change outside it cannot reach the
// target.
//
// The go list answers hold until a change alters what they would say (a new import,
// a module file, see godeps.Inputs.Holds): the narrowing is used only while every
// change recorded since they were learnt leaves them holding, and is learnt again
// first otherwise.
type narrowing struct {
	subset rebuild.Subset
	goIn   []godeps.Inputs // the answers the subset rests on
	// tests: the subset's Dirs are Go packages' (their _test.go files are sent but
	// go build reads none of them), embeds the files they embed.
	tests  bool
	embeds map[string]bool
}

// add adds one go build configuration's answer.
func (n *narrowing) add(in godeps.Inputs) {
	n.subset.Dirs = append(n.subset.Dirs, in.Dirs...)
	n.subset.Trees = append(n.subset.Trees, in.Trees...)
	n.subset.Trees = append(n.subset.Trees, in.Files...)
	n.goIn = append(n.goIn, in)
	n.tests = true
	if n.embeds == nil {
		n.embeds = map[string]bool{}
	}
	for _, e := range in.Embeds {
		n.embeds[e] = true
	}
}

// vcsDirs are the version control directories go build looks for to stamp a binary
// (cmd/go's vcs package).
var vcsDirs = []string{".git", ".hg", ".svn", ".bzr", ".fossil", "_FOSSIL_"}

// addBuild adds what a go build reads besides its packages: the directory it runs in
// (a RUN cd there must find it) and, for VCS stamping, the version control
// directories of its module's directory and of every directory above it in the
// context.
func (n *narrowing) addBuild(root, dir, goMod string) {
	if rel, ok := ospath.Child(root, dir); ok {
		n.subset.Exist = append(n.subset.Exist, filepath.ToSlash(rel))
	}
	if goMod == "" {
		return
	}
	for d := filepath.Dir(goMod); ; d = filepath.Dir(d) {
		rel, ok := ospath.Child(root, d)
		if !ok {
			return
		}
		for _, v := range vcsDirs {
			if _, err := os.Lstat(filepath.Join(d, v)); err == nil {
				n.subset.Trees = append(n.subset.Trees, path.Join(filepath.ToSlash(rel), v))
			}
		}
		if rel == "." {
			return
		}
	}
}

// covers reports whether a change of p (slash-separated, relative to the context)
// can reach the build: p lies in one of the narrowing's trees, is a file of one of
// its directories — except a _test.go file of a Go package that its go build does not
// embed (go build reads none) — or is the ignore file the solve always sends.
func (n *narrowing) covers(p string) bool {
	if p == ".dockerignore" {
		return true
	}
	goTest := n.tests && strings.HasSuffix(p, "_test.go") && !n.embeds[p]
	for _, d := range n.subset.Dirs {
		if path.Dir(p) == path.Clean(d) && !goTest {
			return true
		}
	}
	for _, t := range n.subset.Trees {
		if _, in := ospath.Child(path.Clean(t), p); in {
			return true
		}
	}
	return false
}

// narrowWait bounds how long a build waits for go list to answer (the first time, or
// again after a change it may not survive): a host that lacks the modules may have to
// download them. A build that waited this long is sent the whole context.
const narrowWait = 5 * time.Second

// subset returns the context target's build reads, valid after every change recorded
// so far, or nil when it is not known (the whole context is sent). It may wait for a
// refresh, at most narrowWait; the error is ctx's.
func (ti *targetInputs) subset(ctx context.Context, target string) (*rebuild.Subset, error) {
	wctx, cancel := context.WithTimeoutCause(ctx, narrowWait, errNarrowWait)
	defer cancel()
	ti.mu.Lock()
	defer ti.mu.Unlock()
	n, err := ti.currentLocked(wctx, target)
	if errors.Is(err, errNarrowWait) && ctx.Err() == nil {
		ti.log.Debug("target inputs not learnt in time: sending the whole context", zap.String("target", target))
		return nil, nil
	}
	if n == nil {
		return nil, err
	}
	s := n.subset
	return &s, nil
}

var errNarrowWait = errors.New("target inputs not learnt in time")

// currentLocked returns target's narrowing once it holds for every change recorded
// so far: a change since the last refresh that the go list answers may not survive
// (godeps.Inputs.Holds), a changed Dockerfile or lost events wait for a refresh that
// has seen them. Nil: the target's inputs are unknown, or ctx ended (the error).
// ti.mu is held; it is released while waiting and while files are read.
func (ti *targetInputs) currentLocked(ctx context.Context, target string) (*narrowing, error) {
	for {
		if err := ti.awaitLocked(ctx, func() bool { return ti.refreshed }); err != nil {
			return nil, err
		}
		n := ti.subsets[target]
		if n == nil {
			return nil, nil
		}
		holds, last, retry := ti.answersHoldLocked(n.goIn, func(string) bool { return true })
		switch {
		case retry:
			continue // a refresh completed meanwhile: look at its answer
		case holds:
			return n, nil
		}
		if err := ti.awaitLocked(ctx, func() bool { return ti.refreshed && ti.doneSeq >= last }); err != nil {
			return nil, err
		}
	}
}

// answersHoldLocked reports, ti.mu held, whether the go list answers survive every
// change recorded since the last refresh that include selects: none of them is the
// Dockerfile or lost events, and each answer holds (godeps.Inputs.Holds). last is the
// last such change, which a refresh must have seen otherwise. ti.mu is released while
// files are read; retry is set when a refresh completed meanwhile, and the caller
// must look again.
func (ti *targetInputs) answersHoldLocked(answers []godeps.Inputs, include func(path string) bool) (holds bool, last uint64, retry bool) {
	dockerfile := ti.dockerfileRel()
	var since []string
	stale := false
	for p, s := range ti.pending {
		if s <= ti.doneSeq || !include(p) {
			continue
		}
		since = append(since, p)
		last = max(last, s)
		stale = stale || p == overflowPath || p == dockerfile
	}
	if stale || len(since) == 0 || len(answers) == 0 {
		return !stale, last, false
	}
	done := ti.doneSeq
	ti.mu.Unlock()
	holds = true
	for _, in := range answers {
		if ok, why := in.Holds(since); !ok {
			ti.log.Debug("target inputs must be learnt again", zap.String("why", why))
			holds = false
			break
		}
	}
	ti.mu.Lock()
	return holds, last, ti.doneSeq != done
}

// allAnswers are the go list answers of every target whose inputs are known.
func (ti *targetInputs) allAnswers() []godeps.Inputs {
	var all []godeps.Inputs
	for _, n := range ti.subsets {
		all = append(all, n.goIn...)
	}
	return all
}

// narrowedAffects decides, ti.mu held, whether a change of paths reaches a target
// whose narrowing is known: only through a path in it or the Dockerfile. ok is false
// when the target is not narrowed (its inputs are unknown): godeps.Affects decides.
func (ti *targetInputs) narrowedAffectsLocked(target string, paths []string) (affected, ok bool) {
	n, _ := ti.currentLocked(context.Background(), target)
	if n == nil {
		return false, false
	}
	dockerfile := ti.dockerfileRel()
	for _, p := range paths {
		if p == dockerfile || n.covers(p) {
			return true, true
		}
	}
	return false, true
}

// awaitLocked waits, ti.mu held, until done (called with ti.mu held) reports true,
// asking for refreshes meanwhile. It returns ctx's error if ctx ends first, and nil
// at once when run has returned (no refresh will come).
func (ti *targetInputs) awaitLocked(ctx context.Context, done func() bool) error {
	for !ti.stopped && !done() {
		updated := ti.updated
		ti.mu.Unlock()
		select {
		case ti.kick <- struct{}{}:
		default: // a refresh is already asked for
		}
		var err error
		select {
		case <-updated:
		case <-ctx.Done():
			err = context.Cause(ctx)
		}
		ti.mu.Lock()
		if err != nil {
			return err
		}
	}
	return nil
}

// dockerfileRel is the Dockerfile's path as the watcher reports it: relative to the
// context, slash-separated ("../Dockerfile" outside it).
func (ti *targetInputs) dockerfileRel() string {
	if ti.cfg == nil {
		return ""
	}
	rel, err := filepath.Rel(ti.cfg.Context, ti.cfg.Dockerfile)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}
