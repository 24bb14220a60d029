package exporter

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/devloop/devloop/internal/ospath"
)

// maxLinkHops bounds symlink expansion, like the kernel's ELOOP limit.
const maxLinkHops = 40

var (
	errEscape = errors.New("resolves outside the output dir")
	errNotDir = errors.New("not a directory")
)

type nodeKind int

const (
	nodeMissing nodeKind = iota
	nodeDir
	nodeFile
	nodeLink
)

// lookupFunc reports what is at phys (a slash path relative to OutputDir
// without symlinks in its directory part) and, for a symlink, its target.
type lookupFunc func(phys string) (nodeKind, string, error)

// resolve walks name (a relative slash path or an absolute path) from the
// directory start (a resolved slash path, "" for OutputDir), following
// symlinks through lookup the way the kernel would, and returns the resolved
// slash path and what is there. It fails with errEscape if the walk leaves
// OutputDir at any point, with errNotDir if a non-directory is walked through,
// and with lookup's errors ([*throughLinkError] from [Exporter.lookupForWrite]).
// Components below a missing one are taken lexically.
func (e *Exporter) resolve(start, name string, lookup lookupFunc) (string, nodeKind, error) {
	cur := splitPath(start)
	if filepath.IsAbs(name) {
		rel, ok := e.relToOut(name)
		if !ok {
			return "", 0, errEscape
		}
		cur, name = nil, rel
	}
	todo := splitPath(filepath.ToSlash(name))
	kind := nodeDir
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		if c == ".." {
			if len(cur) == 0 {
				return "", 0, errEscape
			}
			cur = cur[:len(cur)-1]
			kind = nodeDir
			continue
		}
		next := strings.Join(append(cur[:len(cur):len(cur)], c), "/")
		k, target, err := lookup(next)
		if err != nil {
			return "", 0, err
		}
		switch k {
		case nodeLink:
			if hops++; hops > maxLinkHops {
				return "", 0, fmt.Errorf("resolve %s: too many levels of symbolic links", next)
			}
			if filepath.IsAbs(target) {
				rel, ok := e.relToOut(target)
				if !ok {
					return "", 0, errEscape
				}
				cur = nil
				todo = append(splitPath(rel), todo...)
			} else {
				todo = append(splitPath(filepath.ToSlash(target)), todo...)
			}
		case nodeFile:
			if len(todo) > 0 {
				return next, nodeFile, errNotDir
			}
			fallthrough
		default:
			cur = append(cur, c)
			kind = k
		}
	}
	return strings.Join(cur, "/"), kind, nil
}

// relToOut returns the slash path of the absolute path p relative to
// OutputDir, or false if p lies outside it.
func (e *Exporter) relToOut(p string) (string, bool) {
	p = filepath.Clean(p)
	for _, root := range []string{e.out, e.realOut} {
		if rel, ok := ospath.Child(root, p); ok {
			if rel == "." {
				rel = ""
			}
			return filepath.ToSlash(rel), true
		}
	}
	return "", false
}

// lookupExisting looks phys up in OutputDir as it is now.
func (e *Exporter) lookupExisting(phys string) (nodeKind, string, error) {
	p := e.abs(phys)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return nodeMissing, "", nil
	case err != nil:
		return 0, "", fmt.Errorf("inspect %s: %w", p, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			return 0, "", fmt.Errorf("read symlink %s: %w", p, err)
		}
		return nodeLink, target, nil
	case fi.IsDir():
		return nodeDir, "", nil
	default:
		return nodeFile, "", nil
	}
}

// throughLinkError is a write whose path would pass through a symlink an
// export created: its target is the image's (an absolute one names the
// container's root, not the host's), so devloop never follows it.
type throughLinkError struct {
	Rel  string // the link, a slash path relative to OutputDir
	Link string // its target
}

func (e *throughLinkError) Error() string {
	return fmt.Sprintf("would be written through the symlink %s (-> %s) an earlier export created; devloop never writes through a symlink an export created", e.Rel, e.Link)
}

// exportedLinks maps where the symlinks recorded in files sit (their path
// with the symlinked directories on the way resolved, as lookupExisting finds
// them now) to their recorded path. A link whose directory cannot be resolved
// is left out: nothing can be written through it.
func (e *Exporter) exportedLinks(files ...map[string]fileEntry) map[string]string {
	links := map[string]string{}
	for _, fs := range files {
		for rel, fe := range fs {
			if fe.Link == "" {
				continue
			}
			dir, _, err := e.resolve("", parentDir(rel), e.lookupExisting)
			if err != nil {
				continue
			}
			links[path.Join(dir, path.Base(rel))] = rel
		}
	}
	return links
}

// lookupForWrite is lookupExisting for the walk to a path devloop writes or
// removes: a symlink at one of links' positions (see exportedLinks) is not
// followed but fails with a [*throughLinkError]. Other symlinks, the user's
// own, are followed; resolve refuses those leading outside OutputDir.
func (e *Exporter) lookupForWrite(links map[string]string) lookupFunc {
	return func(phys string) (nodeKind, string, error) {
		k, target, err := e.lookupExisting(phys)
		if rel, ok := links[phys]; ok && err == nil && k == nodeLink {
			return 0, "", &throughLinkError{Rel: rel, Link: target}
		}
		return k, target, err
	}
}

// splitPath splits a slash path into its components, dropping empty and "."
// ones.
func splitPath(p string) []string {
	var parts []string
	for c := range strings.SplitSeq(p, "/") {
		if c != "" && c != "." {
			parts = append(parts, c)
		}
	}
	return parts
}
