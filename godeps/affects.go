package godeps

import (
	"path"
	"slices"

	"github.com/devloop/devloop/internal/ospath"
)

// InputSet is what one target's build reads of the context: the [Inputs] of every
// go build configuration its stages run, and the trees its stages copy or read
// otherwise. Paths are slash-separated, relative to the context. Build it with
// [NewInputSet] and [InputSet.Add] before sharing it; it is read-only afterwards.
type InputSet struct {
	// dirs are the directories whose files (not subdirectories) feed it: all of them
	// (nil), or only the Go files one of these configurations does not leave out by
	// name (Inputs.Packages, Query.LeavesOut).
	dirs  map[string][]Query
	trees []string // paths whose whole tree feeds it
}

// NewInputSet returns the set of the given trees (a file, or a directory and
// everything below it; "." is the whole context).
func NewInputSet(trees ...string) *InputSet {
	return &InputSet{dirs: map[string][]Query{}, trees: slices.Clone(trees)}
}

// AddTrees adds trees (as NewInputSet takes them).
func (s *InputSet) AddTrees(trees ...string) { s.trees = append(s.trees, trees...) }

// Add adds one build configuration's inputs.
func (s *InputSet) Add(in Inputs) {
	for _, d := range in.Dirs {
		qs, seen := s.dirs[d]
		switch {
		case seen && qs == nil: // all its files already
		case slices.Contains(in.Packages, d):
			s.dirs[d] = append(qs, in.q)
		default:
			s.dirs[d] = nil
		}
	}
	s.trees = append(s.trees, in.Trees...)
}

// Covers reports whether a change of p reaches the build: p is a file of one of its
// directories that some configuration reads (a package's Go file is not when its
// name rules it out for every configuration that reads the directory: x_darwin.go
// for a linux build), or lies in one of its trees (by whole path elements).
func (s *InputSet) Covers(p string) bool {
	if qs, ok := s.dirs[path.Dir(p)]; ok {
		name := path.Base(p)
		if qs == nil || slices.ContainsFunc(qs, func(q Query) bool { return !q.LeavesOut(name) }) {
			return true
		}
	}
	for _, t := range s.trees {
		if _, in := ospath.Child(t, p); in {
			return true
		}
	}
	return false
}

// leavesOut reports whether p is a Go file of one of s's package directories whose
// name every configuration that reads the directory rules out (x_darwin.go for a
// linux build): whatever it holds, it never reaches the build.
func (s *InputSet) leavesOut(p string) bool {
	qs, ok := s.dirs[path.Dir(p)]
	return ok && qs != nil && !s.Covers(p)
}

// Affects decides whether a change of paths can reach target's build, given every
// target's inputs (sets; a target missing from it has unknown inputs). It can't —
// and the target may be skipped — only when every path is outside the target's
// inputs and either inside another target's, or a Go file of one of the target's
// package directories that its configurations rule out by name (x_darwin.go for a
// linux build): any other path no target claims might be anything (a new package,
// a data file, the Dockerfile), and go.mod, go.sum, go.work and go.work.sum reach
// every Go package.
func Affects(sets map[string]*InputSet, target string, paths []string) bool {
	mine, known := sets[target]
	if !known {
		return true
	}
	for _, p := range paths {
		if isGoGlobal(p) || mine.Covers(p) {
			return true
		}
		if mine.leavesOut(p) {
			continue
		}
		owned := false
		for name, set := range sets {
			if name != target && set.Covers(p) {
				owned = true
				break
			}
		}
		if !owned {
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
