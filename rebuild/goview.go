package rebuild

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// view is what a RUN sees of the build context: its bind mounts, which hide whatever
// lies beneath them, then the COPY and ADD layers of its stage chain.
type view struct {
	ctx    string    // the build context on the host, absolute
	mounts []mapping // the RUN's mounts
	copies []mapping // COPY and ADD layers not hidden by a mount
	why    string    // non-empty: the layout cannot be followed
}

func newView(ctx, workdir string, mounts []*instructions.Mount, copies []copyLayer, why string) *view {
	r := runInfo{workdir: workdir, mounts: mounts, copies: copies}
	v := &view{ctx: ctx, mounts: r.mountMappings(), why: why}
	for _, c := range r.copyMappings(ctx) {
		hidden := false
		for _, m := range v.mounts {
			if c.target == m.target || under(c.target, m.target) {
				hidden = true
				break
			}
		}
		if !hidden {
			v.copies = append(v.copies, c)
		}
	}
	return v
}

// under reports whether p lies strictly below dir.
func under(p, dir string) bool {
	return dir == "/" && p != "/" || strings.HasPrefix(p, dir+"/")
}

// ctxRel joins a context-relative source and a path below it: "." for the root.
func ctxRel(source, rest string) string {
	p := strings.TrimPrefix(path.Join("/", source, rest), "/")
	if p == "" {
		return "."
	}
	return p
}

func (v *view) all() []mapping { return append(append([]mapping(nil), v.mounts...), v.copies...) }

// resolve finds the mapping p lies in: the innermost mount, else the innermost layer.
func (v *view) resolve(p string) (mapping, bool) {
	if m, ok := longest(v.mounts, p); ok {
		return m, true
	}
	return longest(v.copies, p)
}

// hostRel is the context path the container path p (covered by m, from the
// context) stands for.
func (m mapping) hostRel(p string) string {
	switch {
	case m.exact:
		return ctxRel(m.source, "")
	case m.pattern != "":
		return ctxRel(m.source, path.Base(p))
	}
	return ctxRel(m.source, strings.TrimPrefix(p, m.target))
}

// fileState says whether a file exists at a container path.
type fileState int

const (
	fileAbsent  fileState = iota // nothing maps there, or the context has no such file
	filePresent                  // a file of the context
	fileMaybe                    // something other than the context maps there
)

// file reports whether the container path p is a file of the context and which.
func (v *view) file(p string) (rel string, st fileState, why string) {
	m, ok := v.resolve(p)
	if !ok {
		return "", fileAbsent, ""
	}
	if !m.fromContext {
		return "", fileMaybe, fmt.Sprintf("%s may come from %s", p, m.origin)
	}
	rel = m.hostRel(p)
	if fi, err := os.Stat(filepath.Join(v.ctx, filepath.FromSlash(rel))); err != nil || !fi.Mode().IsRegular() {
		return "", fileAbsent, ""
	}
	return rel, filePresent, ""
}

// findUp looks for a file called name in dir and its parents, as the go command
// looks for go.mod and go.work.
func (v *view) findUp(dir, name string) (container, rel string, st fileState, why string) {
	for p := dir; ; p = path.Dir(p) {
		fp := path.Join(p, name)
		rel, st, why := v.file(fp)
		if st != fileAbsent {
			return fp, rel, st, why
		}
		if p == "/" {
			return "", "", fileAbsent, ""
		}
	}
}

// checkTree returns why the container tree at root does not hold exactly the
// context's tree at hostRoot ("" when it does): a layer from elsewhere inside or
// over it, or a context directory copied to another place than it has on the host.
// Files the context has and the container lacks (a narrower COPY, .dockerignore) do
// not count: the host's go command then sees more, never less.
func (v *view) checkTree(root, hostRoot string) string {
	for _, m := range v.all() {
		switch {
		case m.target == root || under(m.target, root):
			if !m.fromContext {
				return fmt.Sprintf("%s comes from %s", m.target, m.origin)
			}
			target := m.target
			if m.pattern != "" {
				target = path.Dir(m.pattern)
			}
			if want := ctxRel(hostRoot, strings.TrimPrefix(target, root)); ctxRel(m.source, "") != want {
				return fmt.Sprintf("%s holds %s of the build context, which the host has at %s", target, ctxRel(m.source, ""), want)
			}
		case under(root, m.target):
			if m.exact {
				continue
			}
			if !m.fromContext {
				return fmt.Sprintf("%s may hold files from %s", root, m.origin)
			}
			if m.pattern != "" {
				return fmt.Sprintf("a COPY with a wildcard fills %s", m.target)
			}
			if got := ctxRel(m.source, strings.TrimPrefix(root, m.target)); got != hostRoot {
				return fmt.Sprintf("%s holds %s of the build context, which the host has at %s", root, got, hostRoot)
			}
		}
	}
	return ""
}

// sources are the context paths the RUN can see ("." for all of it).
func (v *view) sources() []string {
	var out []string
	for _, m := range v.all() {
		if m.fromContext {
			out = append(out, ctxRel(m.source, ""))
		}
	}
	return out
}

// readsUnder lists the context paths reading the container path p (and, for a
// directory, everything below it) may read.
func (v *view) readsUnder(p string) []string {
	var out []string
	if m, ok := v.resolve(p); ok && m.fromContext {
		out = append(out, m.hostRel(p))
	}
	for _, m := range v.all() {
		if m.fromContext && under(m.target, p) {
			out = append(out, ctxRel(m.source, ""))
		}
	}
	return out
}

// hostDir maps a container directory to an existing context directory.
func (v *view) hostDir(p string) (string, bool) {
	m, ok := v.resolve(p)
	if !ok || !m.fromContext || m.exact || m.pattern != "" {
		return "", false
	}
	rel := m.hostRel(p)
	if fi, err := os.Stat(filepath.Join(v.ctx, filepath.FromSlash(rel))); err != nil || !fi.IsDir() {
		return "", false
	}
	return rel, true
}

// copyRegions are the container paths the stage's COPY and ADD layers from the
// context fill: what a RUN may change of the context's files.
func (v *view) copyRegions() []string {
	var out []string
	for _, m := range v.copies {
		if m.fromContext {
			out = append(out, m.target)
		}
	}
	return out
}
