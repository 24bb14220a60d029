package rebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	gofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// DirVersions vouches for directories of a build context: DirVersion returns a
// number that changes whenever an entry of dir (an absolute path) may have changed,
// and false when it cannot vouch for dir. The file watcher implements it
// (watcher.Watcher.DirVersion).
type DirVersions interface {
	DirVersion(dir string) (uint64, bool)
}

// StatCache keeps what the context walk of every solve would otherwise read again:
// each directory's entries and their metadata (fsutil's stat: mode, owner, size,
// times, link target, extended attributes), kept while versions vouches that the
// directory is unchanged. A solve then walks the context from memory and reads only
// the directories that changed, instead of one lstat (and one listxattr) per file per
// solve. Directories versions does not vouch for are read every time.
//
// A StatCache is safe for concurrent use; one serves every solve of a context.
type StatCache struct {
	root     string // the context as given (the watcher's paths)
	real     string // the context with symlinks resolved (where files are read)
	versions DirVersions

	mu   sync.Mutex
	dirs map[string]*cachedDir // slash path relative to the context → its entries
}

// cachedDir is one directory's entries as read when its version was version.
type cachedDir struct {
	version uint64
	entries []cachedEntry // sorted by name, as filepath.WalkDir visits them
}

// cachedEntry is one entry with the stat fsutil sends for it (Path: its name only),
// and what hardlink detection needs.
type cachedEntry struct {
	name  string
	isDir bool
	stat  *fstypes.Stat
	ino   uint64
	nlink uint64
}

// NewStatCache returns an empty cache for the context directory root.
func NewStatCache(root string, versions DirVersions) (*StatCache, error) {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("new context cache for %s: %w", root, err)
	}
	return &StatCache{root: filepath.Clean(root), real: real, versions: versions, dirs: map[string]*cachedDir{}}, nil
}

// Len returns the number of entries held, for diagnostics.
func (c *StatCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, d := range c.dirs {
		n += len(d.entries)
	}
	return n
}

// entries returns the entries of rel, from the cache while its version holds, read
// (and kept, if vouched for) otherwise. The version is taken before reading, so a
// change during the read invalidates what was read.
func (c *StatCache) entries(rel string) ([]cachedEntry, error) {
	abs := filepath.Join(c.root, filepath.FromSlash(rel))
	version, vouched := c.versions.DirVersion(abs)
	if vouched {
		c.mu.Lock()
		d := c.dirs[rel]
		c.mu.Unlock()
		if d != nil && d.version == version {
			return d.entries, nil
		}
	}
	entries, err := readEntries(filepath.Join(c.real, filepath.FromSlash(rel)))
	if err != nil {
		c.mu.Lock()
		delete(c.dirs, rel)
		c.mu.Unlock()
		return nil, err
	}
	c.mu.Lock()
	if vouched {
		c.dirs[rel] = &cachedDir{version: version, entries: entries}
	} else {
		delete(c.dirs, rel)
	}
	c.mu.Unlock()
	return entries, nil
}

// readEntries reads a directory's entries and their fsutil stats.
func readEntries(dir string) ([]cachedEntry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]cachedEntry, 0, len(des))
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		fi, err := os.Lstat(p)
		if errors.Is(err, gofs.ErrNotExist) {
			continue // removed since the listing, like a walk that came later
		}
		if err != nil {
			return nil, err
		}
		st, err := fsutil.Stat(p)
		if errors.Is(err, gofs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		e := cachedEntry{name: de.Name(), isDir: fi.IsDir(), stat: st}
		e.ino, e.nlink = fileLinks(fi)
		out = append(out, e)
	}
	return out, nil
}

// FS returns the context as an fsutil.FS served from the cache. A walk visits the
// entries in the order and with the stats of fsutil's own walk of the directory
// (hardlinks included); files are read from disk.
func (c *StatCache) FS() fsutil.FS { return &cachedFS{c: c} }

type cachedFS struct{ c *StatCache }

// Walk implements fsutil.FS. BuildKit's file sync walks from the root; another
// target is walked from disk.
func (f *cachedFS) Walk(ctx context.Context, target string, fn gofs.WalkDirFunc) error {
	if t := filepath.ToSlash(filepath.Clean(target)); t != "/" && t != "." {
		inner, err := fsutil.NewFS(f.c.real)
		if err != nil {
			return err
		}
		return inner.Walk(ctx, target, fn)
	}
	w := &cachedWalk{c: f.c, fn: fn, seen: map[uint64]string{}}
	err := w.dir(ctx, ".")
	if errors.Is(err, filepath.SkipDir) || errors.Is(err, filepath.SkipAll) {
		return nil
	}
	return err
}

// Open implements fsutil.FS: BuildKit asks for files the walk sent.
func (f *cachedFS) Open(p string) (io.ReadCloser, error) {
	return os.Open(filepath.Join(f.c.real, p))
}

// cachedWalk is one walk: its callback and the hardlinks seen so far.
type cachedWalk struct {
	c    *StatCache
	fn   gofs.WalkDirFunc
	seen map[uint64]string // inode of a file with several links → the first path walked
}

// dir walks the entries of rel (not rel itself) like filepath.WalkDir: an entry,
// then for a directory its own entries; SkipDir from a directory skips it, from a
// file the rest of rel.
func (w *cachedWalk) dir(ctx context.Context, rel string) error {
	entries, err := w.c.entries(rel)
	if errors.Is(err, gofs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil // removed meanwhile: fsutil's walk skips it too
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := path.Join(rel, e.name)
		st := e.stat.CloneVT()
		st.Path = filepath.FromSlash(p)
		if !e.isDir && e.nlink > 1 {
			// As fsutil's walk: the first path of an inode carries the data, later
			// ones link to it (keeping their size).
			if first, ok := w.seen[e.ino]; ok {
				st.Linkname = first
			} else {
				w.seen[e.ino] = p
			}
		}
		if e.isDir {
			if _, vouched := w.c.versions.DirVersion(filepath.Join(w.c.root, filepath.FromSlash(p))); !vouched {
				// Its own modification time changes with its entries, which nothing
				// reports for a directory not vouched for: stat it now.
				fresh, err := fsutil.Stat(filepath.Join(w.c.real, filepath.FromSlash(p)))
				if errors.Is(err, gofs.ErrNotExist) {
					continue
				}
				if err != nil {
					return err
				}
				fresh.Path = st.Path
				st = fresh
			}
		}
		err := w.fn(st.Path, &fsutil.DirEntryInfo{Stat: st}, nil)
		switch {
		case errors.Is(err, filepath.SkipDir):
			if !e.isDir {
				return nil
			}
			continue
		case err != nil:
			return err
		}
		if e.isDir {
			if err := w.dir(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}
