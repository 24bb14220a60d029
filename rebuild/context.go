package rebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	gofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/devloop/devloop/internal/ospath"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// Subset is the part of a build context a build reads, as devloop proved it (the Go
// packages a go build compiles, what it embeds, the paths COPY, ADD and bind mounts
// name) or as devloop.yaml declares it. Paths are slash-separated and relative to the
// context; they need not exist. Only the subset is sent to BuildKit: a context of
// 100,000 files the build does not read costs nothing per solve, and a change to one
// of them leaves every step's cache key unchanged.
type Subset struct {
	// Dirs are directories whose files, not their subdirectories, are sent (a Go
	// package's directory; "." for the context root).
	Dirs []string
	// Trees are files or directories sent with everything below them.
	Trees []string
	// Exist are directories that must exist in the build, without their files (the
	// directory a command runs in).
	Exist []string
}

// alwaysSent are the context paths every solve needs whatever the subset: the
// Dockerfile frontend reads the ignore file from the context.
var alwaysSent = []string{".dockerignore"}

// contextFS is the context BuildKit's file sync serves for req: the context directory
// (walked from req.Stats when set, narrowed to req.Only when set), less req.Excludes
// and what req.Skip leaves out.
func contextFS(req Request) (fsutil.FS, error) {
	var ctxFS fsutil.FS
	var err error
	if c := req.Stats; c != nil && c.root == filepath.Clean(req.Context) {
		ctxFS = c.FS()
	} else if ctxFS, err = fsutil.NewFS(req.Context); err != nil {
		return nil, fmt.Errorf("open build context %s: %w", req.Context, err)
	}
	if req.Only != nil {
		if ctxFS, err = newSubsetFS(ctxFS, req.Context, *req.Only); err != nil {
			return nil, fmt.Errorf("narrow build context %s: %w", req.Context, err)
		}
	}
	if len(req.Excludes) == 0 && req.Skip == nil {
		return ctxFS, nil
	}
	filter := &fsutil.FilterOpt{ExcludePatterns: req.Excludes}
	if skip := req.Skip; skip != nil {
		filter.Map = func(p string, st *fstypes.Stat) fsutil.MapResult {
			isDir := os.FileMode(st.Mode).IsDir()
			switch {
			case !skip(filepath.ToSlash(p), isDir):
				return fsutil.MapResultKeep
			case isDir:
				return fsutil.MapResultSkipDir
			}
			return fsutil.MapResultExclude
		}
	}
	ctxFS, err = fsutil.NewFilterFS(ctxFS, filter)
	if err != nil {
		return nil, fmt.Errorf("filter build context %s: %w", req.Context, err)
	}
	return ctxFS, nil
}

// sharedKey is req's SolveOpt.SharedKey: [SharedKey] of the context, and for a
// narrowed context one per target. The daemon keeps one copy of the context per key
// and makes it equal to what each solve sends, deleting the rest: a target sending a
// subset must not share its copy with one sending everything, or each solve of one
// would transfer again what the other's deleted.
func sharedKey(req Request) string {
	key := SharedKey(req.Context)
	if req.Only == nil {
		return key
	}
	sum := sha256.Sum256([]byte(key + ":subset:" + req.Target))
	return hex.EncodeToString(sum[:16])
}

// subsetFS serves the paths of a Subset from an fsutil.FS over the whole context, in
// the inner walk's order and with its stats (so a narrowed context holds exactly the
// same entries as the whole one, less the others): the directories on the way to a
// subset path, the files of its Dirs, and everything in its Trees. Directories
// outside all of them are not read at all.
type subsetFS struct {
	inner     fsutil.FS
	dirs      map[string]bool // Dirs
	trees     []string        // Trees, the always-sent paths and symlink targets
	ancestors map[string]bool // every directory on the way to a Dir or Tree
}

// newSubsetFS narrows inner, the whole context at root, to s. Relative symlinks in
// the subset that point elsewhere in the context bring their targets in, as the build
// follows them.
func newSubsetFS(inner fsutil.FS, root string, s Subset) (*subsetFS, error) {
	f := &subsetFS{inner: inner, dirs: map[string]bool{}, ancestors: map[string]bool{}}
	for _, d := range s.Dirs {
		d, ok := cleanSubsetPath(d)
		if !ok {
			return nil, fmt.Errorf("subset directory %q is outside the context", d)
		}
		f.dirs[d] = true
		f.addAncestors(d, true)
	}
	for _, d := range s.Exist {
		d, ok := cleanSubsetPath(d)
		if !ok {
			return nil, fmt.Errorf("subset directory %q is outside the context", d)
		}
		f.addAncestors(d, true)
	}
	for _, t := range append(slices.Clone(s.Trees), alwaysSent...) {
		if err := f.addTree(t); err != nil {
			return nil, err
		}
	}
	if err := f.followLinks(root); err != nil {
		return nil, err
	}
	return f, nil
}

func cleanSubsetPath(p string) (string, bool) {
	c := path.Clean(strings.TrimPrefix(filepath.ToSlash(p), "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return p, false
	}
	return c, true
}

func (f *subsetFS) addTree(t string) error {
	c, ok := cleanSubsetPath(t)
	if !ok {
		return fmt.Errorf("subset path %q is outside the context", t)
	}
	if c == "." {
		return fmt.Errorf("subset path %q is the whole context", t)
	}
	if f.inTree(c) {
		return nil
	}
	f.trees = append(f.trees, c)
	f.addAncestors(c, false)
	return nil
}

// addAncestors records the directories above p, and p itself when self is set.
func (f *subsetFS) addAncestors(p string, self bool) {
	if !self {
		p = path.Dir(p)
	}
	for ; p != "."; p = path.Dir(p) {
		f.ancestors[p] = true
	}
	f.ancestors["."] = true
}

func (f *subsetFS) inTree(p string) bool {
	for _, t := range f.trees {
		if _, ok := ospath.Child(t, p); ok {
			return true
		}
	}
	return false
}

// keep decides one entry of the walk: send it, and for a directory whether to enter.
func (f *subsetFS) keep(rel string, isDir bool) bool {
	if f.inTree(rel) {
		return true
	}
	if isDir {
		return f.dirs[rel] || f.ancestors[rel]
	}
	return f.dirs[path.Dir(rel)]
}

// maxLinkRounds bounds how often symlink targets bring in more symlinks.
const maxLinkRounds = 8

// followLinks adds the targets of relative symlinks found in the subset that lie in
// the context (the build resolves them inside its mount of the context), until no new
// target appears. Absolute targets name the container's files, not the context's.
func (f *subsetFS) followLinks(root string) error {
	seen := map[string]bool{}
	for round := 0; ; round++ {
		var targets []string
		err := f.walk(context.Background(), func(rel string, e gofs.DirEntry) error {
			if e.Type()&gofs.ModeSymlink == 0 || seen[rel] {
				return nil
			}
			seen[rel] = true
			link, err := os.Readlink(filepath.Join(root, filepath.FromSlash(rel)))
			if err != nil || filepath.IsAbs(link) {
				return nil
			}
			if t, ok := cleanSubsetPath(path.Join(path.Dir(rel), filepath.ToSlash(link))); ok && t != "." && !f.keep(t, false) {
				targets = append(targets, t)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(targets) == 0 {
			return nil
		}
		if round == maxLinkRounds {
			return fmt.Errorf("symlinks in the subset lead to more symlinks after %d rounds", maxLinkRounds)
		}
		for _, t := range targets {
			if err := f.addTree(t); err != nil {
				return err
			}
		}
	}
}

// walk visits the subset's entries in the inner walk's order, without stat'ing them.
func (f *subsetFS) walk(ctx context.Context, fn func(rel string, e gofs.DirEntry) error) error {
	return f.inner.Walk(ctx, "/", func(p string, e gofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(p)
		if !f.keep(rel, e.IsDir()) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return fn(rel, e)
	})
}

// Walk implements fsutil.FS.
func (f *subsetFS) Walk(ctx context.Context, target string, fn gofs.WalkDirFunc) error {
	return f.inner.Walk(ctx, target, func(p string, e gofs.DirEntry, err error) error {
		if err == nil && e != nil && !f.keep(filepath.ToSlash(p), e.IsDir()) {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return fn(p, e, err)
	})
}

// Open implements fsutil.FS: BuildKit asks only for files the walk sent.
func (f *subsetFS) Open(p string) (io.ReadCloser, error) { return f.inner.Open(p) }
