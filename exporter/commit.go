package exporter

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/devloop/devloop/internal/ospath"
	"go.uber.org/zap"
)

// Result reports what a Commit did. Paths are slash-separated, relative to
// OutputDir and sorted.
type Result struct {
	// Changed are the files and symlinks that differ from what this Exporter
	// last saw there: renamed into place now (new, different content, different
	// mode, or a different link target), or already put there by another
	// process's export of the target since (a process started from the old
	// file runs an outdated binary all the same).
	Changed []string
	// Unchanged are exported entries equal to what was already there; they
	// were not touched.
	Unchanged []string
	// Removed are files of the previous export that this one no longer
	// produces, removed because they still held what devloop wrote.
	Removed []string
	// Executables are the regular files of Changed with an execute bit: the
	// binaries a summary of a large export names.
	Executables []string
	// Digests maps every exported regular file to "sha256:<hex>".
	Digests map[string]string
}

// stagedEntry is one entry of the staged tree.
type stagedEntry struct {
	rel  string // slash path relative to the staged tree and OutputDir
	phys string // rel with existing symlinked directories in OutputDir resolved
	kind nodeKind
	mode fs.FileMode // regular files and directories: modeBits, as exported
	size int64
	link string // symlinks: target
	sum  string // regular files: hex sha256
}

// Commit verifies the staged tree and swaps it into OutputDir (see the
// package documentation). It holds the target's swap lock meanwhile, waiting
// for another process's swap first. On an error before the first rename,
// OutputDir is unchanged and the caller's Discard removes the staging dir.
func (s *Staging) Commit() (Result, error) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.state != stagingOpen {
		return Result{}, fmt.Errorf("commit staging dir %s: already committed or discarded", s.base)
	}
	if e.closed {
		return Result{}, fmt.Errorf("commit staging dir %s: %w", s.base, errClosed)
	}
	unlock, err := e.lockSwap()
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	view := e.man
	if err := e.recover(); err != nil {
		return Result{}, err
	}
	j, res, err := e.plan(s.dir, view)
	if err != nil {
		return Result{}, fmt.Errorf("commit export of target %q: %w", e.target, err)
	}
	if !j.needsApply {
		if !maps.Equal(e.man.Files, j.Manifest.Files) || !slices.Equal(e.man.Dirs, j.Manifest.Dirs) ||
			!maps.Equal(e.man.DirModes, j.Manifest.DirModes) {
			if err := writeFileAtomic(e.manifestPath(), j.Manifest); err != nil {
				return Result{}, fmt.Errorf("commit export of target %q: %w", e.target, err)
			}
			e.man = j.Manifest
		}
		s.done()
		return res, nil
	}
	if err := writeFileAtomic(filepath.Join(s.base, journalName), j); err != nil {
		return Result{}, fmt.Errorf("commit export of target %q: %w", e.target, err)
	}
	removed, touched, err := e.apply(s.base, j, freshSwap)
	if err != nil {
		if touched {
			// The journal now drives the swap: the next commit or New of the
			// target, in any process, completes it.
			s.state = stagingKept
			s.unlock()
			return Result{}, fmt.Errorf("swap export of target %q into %s stopped midway; it is completed by the next commit or start: %w",
				e.target, e.out, err)
		}
		return Result{}, fmt.Errorf("swap export of target %q into %s: %w", e.target, e.out, err)
	}
	s.done()
	res.Removed = removed
	e.log.Debug("committed export", zap.Strings("changed", res.Changed),
		zap.Int("unchanged", len(res.Unchanged)), zap.Strings("removed", removed))
	return res, nil
}

// done removes a committed staging dir and releases it; the caller holds e.mu.
func (s *Staging) done() {
	s.state = stagingDone
	s.e.cleanupStaging(s.base)
	s.unlock()
}

// plan verifies the staged tree in dir and computes the swap against e.man,
// the manifest on disk; view is the manifest as this Exporter saw it last,
// to tell which unchanged entries another process put there meanwhile.
func (e *Exporter) plan(dir string, view manifest) (*journal, Result, error) {
	entries, err := scanStaged(dir)
	if err != nil {
		return nil, Result{}, err
	}
	if e.outputs != nil {
		// Registered before anything is renamed: the swap's events are devloop's own.
		var files []string
		for _, en := range entries {
			if en.kind != nodeDir {
				files = append(files, en.rel)
			}
		}
		e.outputs.addFiles(e.out, files)
	}
	j := &journal{
		Version:   formatVersion,
		Target:    e.target,
		OutputDir: e.out,
		Manifest:  e.emptyManifest(),
		DirModes:  map[string]fileMode{},
	}
	j.Manifest.Seq = e.man.Seq + 1
	res := Result{Digests: map[string]string{}}

	// Where each entry lands, following the user's symlinked directories
	// already in OutputDir (entries come parents first) but never a symlink
	// an export created: exported links are created as they are, whatever
	// their target, and nothing is ever written through one.
	oldLinks := e.exportedLinks(e.man.Files)
	lookup := e.lookupForWrite(oldLinks)
	unlinked := map[string]bool{} // old-manifest paths of links replaced by directories
	fresh := map[string]bool{}    // where directories are created: nothing below is there yet
	dirPhys := map[string]string{"": ""}
	staged := map[string]*stagedEntry{}
	for _, en := range entries {
		parent := dirPhys[parentDir(en.rel)]
		if en.kind == nodeDir {
			phys, kind, err := e.resolve(parent, path.Base(en.rel), lookup)
			var through *throughLinkError
			switch {
			case errors.As(err, &through) && oldLinks[path.Join(parent, path.Base(en.rel))] == through.Rel &&
				through.Link == e.man.Files[through.Rel].Link:
				// A link the previous export created, where this one has a
				// directory: replaced by it, as a fresh export would have it.
				phys, kind = path.Join(parent, path.Base(en.rel)), nodeMissing
				j.Unlinks = append(j.Unlinks, staleFile{Path: en.rel, fileEntry: e.man.Files[through.Rel]})
				unlinked[through.Rel] = true
			case errors.As(err, &through):
				return nil, Result{}, fmt.Errorf("exported directory %s %w", en.rel, err)
			case errors.Is(err, errEscape):
				return nil, Result{}, fmt.Errorf("exported directory %s: the output dir holds a symlink there that leads outside %s", en.rel, e.out)
			case errors.Is(err, errNotDir) || err == nil && kind == nodeFile:
				return nil, Result{}, fmt.Errorf("exported directory %s: %s is not a directory; remove it", en.rel, e.abs(en.rel))
			case err != nil:
				return nil, Result{}, fmt.Errorf("exported directory %s: %w", en.rel, err)
			}
			if kind == nodeMissing {
				j.Mkdirs = append(j.Mkdirs, en.rel)
				fresh[phys] = true
			}
			dirPhys[en.rel] = phys
			en.phys = phys
		} else {
			en.phys = path.Join(parent, path.Base(en.rel))
			if e.reservedPath(en.phys) {
				return nil, Result{}, fmt.Errorf("exported %s would land in devloop's state or staging dir %s", en.rel, e.abs(en.phys))
			}
		}
		if other, dup := staged[en.phys]; dup {
			return nil, Result{}, fmt.Errorf("exported %s and %s both land on %s", other.rel, en.rel, e.abs(en.phys))
		}
		staged[en.phys] = en
	}
	// The staged tree itself never has an entry below a link; one that lands
	// below a link this export creates got there through the user's links.
	for _, en := range entries {
		for dir := parentDir(en.phys); dir != ""; dir = parentDir(dir) {
			if l, ok := staged[dir]; ok && l.kind == nodeLink {
				return nil, Result{}, fmt.Errorf("exported %s would be written through the symlink %s (-> %s) this export creates; devloop never writes through a symlink an export created",
					en.rel, l.rel, l.link)
			}
		}
	}

	created := setOf(e.man.Dirs)
	missing := setOf(j.Mkdirs)
	// ours are the created directories whose mode is still the one devloop
	// gave them; dirMode holds the current modes.
	ours, dirMode := map[string]bool{}, map[string]fs.FileMode{}
	for _, d := range e.man.Dirs {
		if fi, err := os.Lstat(e.abs(d)); err == nil && fi.IsDir() {
			dirMode[d] = fi.Mode() & modeBits
			set, ok := e.man.DirModes[d]
			ours[d] = ok && fs.FileMode(set) == dirMode[d]
		}
	}

	unchanged, err := e.compare(dir, entries, fresh)
	if err != nil {
		return nil, Result{}, err
	}
	writable := map[string]error{}
	for i, en := range entries {
		switch en.kind {
		case nodeDir:
			// Directories devloop creates take the exported mode, as BuildKit's
			// exporter gives them, as long as their mode is the one devloop gave
			// them; the user's own, and those the user chmodded, keep theirs.
			switch {
			case missing[en.rel]:
				j.DirModes[en.rel] = fileMode(en.mode) // listed in Dirs with the Mkdirs below
			case created[en.rel]:
				j.Manifest.Dirs = append(j.Manifest.Dirs, en.rel)
				if ours[en.rel] {
					j.DirModes[en.rel] = fileMode(en.mode)
					j.needsApply = j.needsApply || dirMode[en.rel] != en.mode
				}
			}
			continue
		case nodeLink:
			j.Manifest.Files[en.rel] = fileEntry{Link: en.link}
		case nodeFile:
			res.Digests[en.rel] = "sha256:" + en.sum
			j.Manifest.Files[en.rel] = fileEntry{SHA256: en.sum, Size: en.size, Mode: fileMode(en.mode)}
		}
		if unchanged[i] {
			if view.Seq != e.man.Seq && view.Files[en.rel] != e.man.Files[en.rel] {
				res.Changed = append(res.Changed, en.rel)
			} else {
				res.Unchanged = append(res.Unchanged, en.rel)
			}
			continue
		}
		pdir := parentDir(en.phys)
		if _, setMode := j.DirModes[parentDir(en.rel)]; !setMode {
			if _, seen := writable[pdir]; !seen {
				writable[pdir] = dirWritable(e.abs(pdir))
			}
			if err := writable[pdir]; err != nil {
				return nil, Result{}, fmt.Errorf("exported %s: %w", en.rel, err)
			}
		}
		res.Changed = append(res.Changed, en.rel)
		j.Renames = append(j.Renames, renameOp{Path: en.rel, Mode: fileMode(en.mode), Link: en.kind == nodeLink})
	}

	for _, rel := range res.Changed {
		if fe := j.Manifest.Files[rel]; fe.Link == "" && fs.FileMode(fe.Mode)&0o111 != 0 {
			res.Executables = append(res.Executables, rel)
		}
	}
	for rel, fe := range e.man.Files {
		if _, ok := j.Manifest.Files[rel]; !ok && !unlinked[rel] {
			j.Stale = append(j.Stale, staleFile{Path: rel, fileEntry: fe})
		}
	}
	slices.SortFunc(j.Stale, func(a, b staleFile) int { return cmp.Compare(a.Path, b.Path) })
	still := setOf(j.Manifest.Dirs)
	for _, d := range e.man.Dirs {
		if !still[d] {
			j.StaleDirs = append(j.StaleDirs, d)
		}
	}
	j.Manifest.Dirs = append(j.Manifest.Dirs, j.Mkdirs...)
	// Modes recorded: those this swap sets, and those of stale directories it
	// may have to keep (apply drops the removed ones).
	j.Manifest.DirModes = maps.Clone(j.DirModes)
	for _, d := range j.StaleDirs {
		if m, ok := e.man.DirModes[d]; ok && ours[d] {
			j.Manifest.DirModes[d] = m
		}
	}
	for _, s := range [][]string{j.Mkdirs, j.Manifest.Dirs, res.Changed, res.Unchanged, res.Executables} {
		slices.Sort(s)
	}
	if len(j.Mkdirs)+len(j.Renames)+len(j.Stale)+len(j.StaleDirs) > 0 {
		j.needsApply = true
	}
	slices.SortFunc(j.Renames, func(a, b renameOp) int { return cmp.Compare(a.Path, b.Path) })
	return j, res, nil
}

// scanStaged lists the staged tree, parents before children, refusing
// anything but regular files, directories and symlinks.
func scanStaged(dir string) ([]*stagedEntry, error) {
	var entries []*stagedEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk staged tree %s: %w", p, err)
		}
		if p == dir {
			return nil
		}
		rel, ok := ospath.Child(dir, p)
		if !ok {
			return fmt.Errorf("staged entry %s: path leaves the output dir", p)
		}
		en := &stagedEntry{rel: filepath.ToSlash(rel)}
		switch t := d.Type(); {
		case t.IsDir():
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("inspect staged directory %s: %w", p, err)
			}
			en.kind, en.mode = nodeDir, fi.Mode()&modeBits
			// Renaming out of a directory needs write permission on it, and
			// exports may contain read-only ones; this is only the staged copy.
			if en.mode.Perm()&0o700 != 0o700 {
				if err := os.Chmod(p, en.mode|0o700); err != nil {
					return fmt.Errorf("make staged directory %s writable: %w", p, err)
				}
			}
		case t.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("inspect staged file %s: %w", p, err)
			}
			en.kind, en.size, en.mode = nodeFile, fi.Size(), fi.Mode()&modeBits
		case t&fs.ModeSymlink != 0:
			if en.link, err = os.Readlink(p); err != nil {
				return fmt.Errorf("read staged symlink %s: %w", p, err)
			}
			en.kind = nodeLink
		default:
			return fmt.Errorf("exported %s is a %s; only regular files, directories and symlinks can be exported", en.rel, describe(t))
		}
		entries = append(entries, en)
		return nil
	})
	return entries, err
}

// compare hashes the staged files (setting their sum) and reports which
// entries OutputDir already holds, working on GOMAXPROCS files at a time.
// Entries in fresh directories (resolved paths where the swap creates a
// directory, possibly in place of a link) are new: what the path shows now
// is not theirs.
func (e *Exporter) compare(dir string, entries []*stagedEntry, fresh map[string]bool) ([]bool, error) {
	unchanged := make([]bool, len(entries))
	errs := make([]error, len(entries))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(entries)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(entries) {
					return
				}
				en := entries[i]
				switch en.kind {
				case nodeDir:
					continue
				case nodeFile:
					if en.sum, errs[i] = hashFile(filepath.Join(dir, filepath.FromSlash(en.rel))); errs[i] != nil {
						continue
					}
				}
				if !fresh[parentDir(en.phys)] { // in a new directory: not there yet
					unchanged[i], errs[i] = e.unchanged(en)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return unchanged, nil
}

// unchanged reports whether OutputDir already holds en: a regular file with
// the same mode, size and sha256, or a symlink with the same target.
func (e *Exporter) unchanged(en *stagedEntry) (bool, error) {
	p := e.abs(en.phys)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("inspect %s: %w", p, err)
	case fi.IsDir():
		return false, fmt.Errorf("exported %s would replace the directory %s; devloop never replaces a directory: remove it", en.rel, p)
	case en.kind == nodeLink:
		if fi.Mode()&fs.ModeSymlink == 0 {
			return false, nil
		}
		target, err := os.Readlink(p)
		return err == nil && target == en.link, nil
	case !fi.Mode().IsRegular() || fi.Size() != en.size || fi.Mode()&modeBits != en.mode:
		return false, nil
	}
	sum, err := hashFile(p)
	if err != nil {
		e.log.Debug("cannot read destination; replacing it", zap.String("path", p), zap.Error(err))
		return false, nil
	}
	return sum == en.sum, nil
}

// dirWritable checks that an existing directory can take renames.
func dirWritable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", dir, err)
	}
	return checkWritable(dir, fi.Mode())
}

// applyMode says whose journal apply runs.
type applyMode bool

const (
	// freshSwap is Commit's own journal, just planned: a failure before the first
	// rename is undone.
	freshSwap applyMode = true
	// rollForward is a journal found by recovery: OutputDir may have changed
	// since it was planned.
	rollForward applyMode = false
)

// apply performs j's swap from the staging dir base, then writes the
// manifest. Renames whose staged entry is gone were done before, so apply
// can roll a journal forward any number of times. If mode is freshSwap and it
// fails before the first rename, it removes the directories it created and the
// journal; touched reports whether OutputDir may have changed.
func (e *Exporter) apply(base string, j *journal, mode applyMode) (removed []string, touched bool, err error) {
	undoable := mode == freshSwap
	var created []string
	var unlinked []staleFile
	loosened := map[string]fs.FileMode{}
	undo := func(err error) ([]string, bool, error) {
		if !undoable {
			return nil, true, err
		}
		for _, d := range slices.Backward(created) {
			_ = os.Remove(e.abs(d))
		}
		for _, u := range unlinked {
			_ = os.Symlink(u.Link, e.abs(u.Path))
		}
		for d, mode := range loosened {
			_ = os.Chmod(e.abs(d), mode)
		}
		if rmErr := os.Remove(filepath.Join(base, journalName)); rmErr != nil {
			return nil, true, err
		}
		return nil, false, err
	}
	// On roll-forward, OutputDir may have changed since the journal was
	// planned: never create, rename or remove through a symlink leading
	// outside, nor through one an export created.
	var lookup lookupFunc
	if !undoable {
		lookup = e.lookupForWrite(e.exportedLinks(e.man.Files, j.Manifest.Files))
	}
	inside := func(rel string) error {
		if undoable {
			return nil
		}
		_, _, err := e.resolve("", parentDir(rel), lookup)
		var through *throughLinkError
		switch {
		case errors.Is(err, errEscape):
			return fmt.Errorf("move %s into place: its directory leads outside the output dir %s", rel, e.out)
		case errors.As(err, &through):
			return fmt.Errorf("move %s into place: it %w", rel, err)
		}
		return nil
	}
	for _, u := range j.Unlinks {
		if err := inside(u.Path); err != nil {
			return nil, true, err
		}
		p := e.abs(u.Path)
		switch ours, err := stillOurs(p, u.fileEntry); {
		case err != nil:
			return undo(fmt.Errorf("replace symlink %s by a directory: %w", p, err))
		case !ours:
			continue // replaced already (rolling forward), or changed since: Mkdir says so
		}
		if err := os.Remove(p); err != nil {
			return undo(fmt.Errorf("replace symlink %s by a directory: %w", p, err))
		}
		unlinked = append(unlinked, u)
	}
	for _, d := range j.Mkdirs {
		if err := inside(d); err != nil {
			return nil, true, err
		}
		// Writable for the renames into it; its exported mode comes last.
		p := e.abs(d)
		switch err := os.Mkdir(p, 0o700); {
		case err == nil:
			created = append(created, d)
		case !errors.Is(err, fs.ErrExist):
			return undo(fmt.Errorf("create directory %s: %w", p, err))
		default:
			if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
				return undo(fmt.Errorf("create directory %s: a %s is there now", p, describe(fi.Mode())))
			}
		}
	}
	// Directories devloop made earlier may have a read-only exported mode:
	// open them up for the renames and removals (root needs not, others do).
	// Only those whose mode is devloop's: a directory the user made read-only
	// was refused by plan.
	var staleOurs []string
	for _, d := range j.StaleDirs {
		if _, ok := j.Manifest.DirModes[d]; ok {
			staleOurs = append(staleOurs, d)
		}
	}
	for _, d := range slices.Concat(slices.Sorted(maps.Keys(j.DirModes)), staleOurs) {
		if err := inside(d); err != nil {
			return nil, true, err
		}
		fi, err := os.Lstat(e.abs(d))
		if err != nil || !fi.IsDir() || fi.Mode().Perm()&0o700 == 0o700 {
			continue
		}
		if err := os.Chmod(e.abs(d), fi.Mode()&modeBits|0o700); err != nil {
			return undo(fmt.Errorf("make directory %s writable for the swap: %w", e.abs(d), err))
		}
		loosened[d] = fi.Mode() & modeBits
	}
	renamed := 0
	for _, r := range j.Renames {
		src := filepath.Join(base, stagedTreeDir, filepath.FromSlash(r.Path))
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue // renamed before a crash
		}
		if err := inside(r.Path); err != nil {
			return nil, true, err
		}
		if !undoable {
			// Rolling forward after a crash: a directory on the way may have
			// been removed since. Directories created here are not recorded as
			// devloop's and keep the default mode.
			if err := os.MkdirAll(filepath.Dir(e.abs(r.Path)), 0o755); err != nil {
				return nil, true, fmt.Errorf("create directory %s: %w", filepath.Dir(e.abs(r.Path)), err)
			}
		}
		if err := e.rename(src, e.abs(r.Path), r); err != nil {
			if renamed == 0 {
				return undo(err)
			}
			return nil, true, err
		}
		renamed++
		if e.afterRename != nil {
			if err := e.afterRename(r.Path); err != nil {
				return nil, true, err
			}
		}
	}
	// What follows removes and chmods: never through a link the export made.
	after := e.lookupForWrite(e.exportedLinks(j.Manifest.Files))
	removed, kept := e.removeStale(j.Stale, after)
	m := j.Manifest
	m.Files, m.DirModes = maps.Clone(m.Files), maps.Clone(m.DirModes)
	maps.Copy(m.Files, kept)
	keptDirs := e.removeStaleDirs(j.StaleDirs, after)
	m.Dirs = append(slices.Clone(m.Dirs), keptDirs...)
	slices.Sort(m.Dirs)
	modes := map[string]fileMode{}
	maps.Copy(modes, j.DirModes)
	for _, d := range keptDirs { // loosened for the removals: back to their mode
		if mode, ok := loosened[d]; ok {
			modes[d] = fileMode(mode)
		}
	}
	maps.DeleteFunc(m.DirModes, func(d string, _ fileMode) bool { return !slices.Contains(m.Dirs, d) })
	if err := e.setDirModes(modes, after); err != nil {
		return nil, true, err
	}
	if err := writeFileAtomic(e.manifestPath(), m); err != nil {
		return nil, true, err
	}
	e.man = m
	return removed, true, nil
}

// setDirModes gives the directories devloop owns their exported modes, deepest
// first: a read-only directory does not stop the chmod of one below it.
func (e *Exporter) setDirModes(modes map[string]fileMode, lookup lookupFunc) error {
	for _, d := range slices.Backward(slices.Sorted(maps.Keys(modes))) {
		if _, _, err := e.resolve("", parentDir(d), lookup); err != nil {
			continue // gone, or now behind a symlink leading outside or one an export made: not ours to change
		}
		p := e.abs(d)
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() || fi.Mode()&modeBits == fs.FileMode(modes[d]) {
			continue
		}
		if err := os.Chmod(p, fs.FileMode(modes[d])); err != nil {
			return fmt.Errorf("set mode of directory %s: %w", p, err)
		}
	}
	return nil
}

// rename moves one staged entry into place with its exported mode.
func (e *Exporter) rename(src, dst string, r renameOp) error {
	if !r.Link {
		if err := os.Chmod(src, fs.FileMode(r.Mode)); err != nil {
			return fmt.Errorf("set mode of staged %s: %w", src, err)
		}
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("move %s into place: %w", dst, err)
	}
	return nil
}

// removeStale removes the files of the previous export that this one does
// not produce, if they still hold what devloop wrote. It returns the removed
// paths and the entries it failed to check or remove, which stay in the
// manifest to be retried.
func (e *Exporter) removeStale(stale []staleFile, lookup lookupFunc) (removed []string, kept map[string]fileEntry) {
	kept = map[string]fileEntry{}
	for _, s := range stale {
		log := e.log.With(zap.String("path", s.Path))
		dir, _, err := e.resolve("", parentDir(s.Path), lookup)
		if err != nil {
			log.Debug("leaving file no longer exported: its directory is gone, leads outside the output dir or through an exported symlink", zap.Error(err))
			continue
		}
		p := e.abs(path.Join(dir, path.Base(s.Path)))
		ours, err := stillOurs(p, s.fileEntry)
		switch {
		case err != nil:
			log.Warn("cannot check file no longer exported; will retry", zap.Error(err))
			kept[s.Path] = s.fileEntry
			continue
		case !ours:
			log.Info("leaving file no longer exported: it changed since devloop wrote it")
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("cannot remove file no longer exported; will retry", zap.Error(err))
			kept[s.Path] = s.fileEntry
			continue
		}
		removed = append(removed, s.Path)
	}
	return removed, kept
}

// stillOurs reports whether p holds exactly what want records.
func stillOurs(p string, want fileEntry) (bool, error) {
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("inspect %s: %w", p, err)
	case want.Link != "":
		if fi.Mode()&fs.ModeSymlink == 0 {
			return false, nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return false, fmt.Errorf("read symlink %s: %w", p, err)
		}
		return target == want.Link, nil
	case !fi.Mode().IsRegular() || fi.Size() != want.Size:
		return false, nil
	}
	sum, err := hashFile(p)
	return err == nil && sum == want.SHA256, err
}

// removeStaleDirs removes, deepest first, directories devloop created that
// this export no longer needs, if they are empty. It returns those still
// there and not empty, which stay in the manifest.
func (e *Exporter) removeStaleDirs(dirs []string, lookup lookupFunc) (kept []string) {
	sorted := slices.Sorted(slices.Values(dirs))
	for _, d := range slices.Backward(sorted) {
		if _, _, err := e.resolve("", parentDir(d), lookup); err != nil {
			continue
		}
		p := e.abs(d)
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			continue // gone or replaced by the user: no longer ours
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			kept = append(kept, d)
		}
	}
	return kept
}

func setOf(list []string) map[string]bool {
	set := make(map[string]bool, len(list))
	for _, s := range list {
		set[s] = true
	}
	return set
}
