package dockerfile

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// CopyLayer is one COPY or ADD as the analyses follow it: sources relative to the
// build context (when from the context) copied to an absolute container path.
type CopyLayer struct {
	dest        string
	destIsDir   bool
	sources     []string
	fromContext bool
	// Origin says, for a layer not from the context, where its files come from
	// ("stage gen", "image alpine"), for messages.
	Origin string
}

// Values of NewCopyLayer's fromContext.
const (
	FromContext   = true  // the sources are build-context paths
	FromElsewhere = false // another stage or an image (COPY --from)
)

// NewCopyLayer is the layer a COPY or ADD of sd creates in a stage whose working
// directory is workdir; fromContext says its sources are build-context paths (no
// --from, no URL). Heredoc sources (COPY <<EOF) come from the Dockerfile.
func NewCopyLayer(workdir string, sd instructions.SourcesAndDest, fromContext bool) CopyLayer {
	l := CopyLayer{
		dest:        ContainerPath(workdir, sd.DestPath),
		destIsDir:   isDirPath(sd.DestPath) || len(sd.SourcePaths)+len(sd.SourceContents) > 1,
		sources:     sd.SourcePaths,
		fromContext: fromContext,
	}
	for _, src := range sd.SourcePaths {
		l.destIsDir = l.destIsDir || HasWildcard(src)
	}
	for _, sc := range sd.SourceContents {
		l.sources = append(l.sources, sc.Path)
		l.fromContext = false // heredoc content comes from the Dockerfile, not the context
	}
	return l
}

// mapping says where the files under a container path come from.
type mapping struct {
	target      string // absolute container path
	source      string // path relative to the build context
	fromContext bool
	exact       bool   // target is a file, not a directory
	pattern     string // for a wildcard COPY: the container paths it creates
	origin      string // for mappings not from the context: where the files come from
}

func (m mapping) covers(p string) bool {
	switch {
	case m.exact:
		return p == m.target
	case m.pattern != "":
		ok, _ := path.Match(m.pattern, p)
		return ok
	}
	return m.target == "/" || p == m.target || strings.HasPrefix(p, m.target+"/")
}

// hostRel is the context path the container path p (covered by m, from the
// context) stands for.
func (m mapping) hostRel(p string) string {
	switch {
	case m.exact:
		return ContextPath(m.source, "")
	case m.pattern != "":
		return ContextPath(m.source, path.Base(p))
	}
	return ContextPath(m.source, strings.TrimPrefix(p, m.target))
}

// longest picks the mapping with the longest target covering p; among equals, the
// last.
func longest(ms []mapping, p string) (mapping, bool) {
	var best mapping
	found := false
	for _, m := range ms {
		if m.covers(p) && (!found || len(m.target) >= len(best.target)) {
			best, found = m, true
		}
	}
	return best, found
}

func mountMappings(workdir string, mounts []*instructions.Mount) []mapping {
	var ms []mapping
	for _, m := range mounts {
		if m.Target == "" {
			continue
		}
		origin := "a " + string(m.Type) + " mount"
		if m.From != "" {
			origin = "a bind mount of " + m.From
		}
		ms = append(ms, mapping{
			target:      ContainerPath(workdir, m.Target),
			source:      m.Source,
			fromContext: m.Type == instructions.MountTypeBind && m.From == "",
			origin:      origin,
		})
	}
	return ms
}

// copyMappings turns the COPY and ADD layers into mappings; whether a context source
// is a file or a directory (whose contents are copied) is read from the host.
func copyMappings(ctx string, copies []CopyLayer) []mapping {
	var ms []mapping
	for _, l := range copies {
		for _, src := range l.sources {
			switch {
			case !l.fromContext:
				target := l.dest
				if l.destIsDir && !isDirPath(src) && !HasWildcard(src) {
					target = path.Join(l.dest, path.Base(src))
				}
				ms = append(ms, mapping{target: target, origin: l.Origin})
			case HasWildcard(src):
				ms = append(ms, mapping{target: l.dest, source: path.Dir(src), fromContext: true, pattern: path.Join(l.dest, path.Base(src))})
			default:
				fi, err := os.Stat(filepath.Join(ctx, filepath.FromSlash(path.Join("/", src))))
				if err != nil {
					continue // the COPY itself fails: nothing to map, nothing shadowed
				}
				if !fi.IsDir() {
					target := l.dest
					if l.destIsDir {
						target = path.Join(l.dest, path.Base(src))
					}
					ms = append(ms, mapping{target: target, source: src, fromContext: true, exact: true})
					continue
				}
				ms = append(ms, mapping{target: l.dest, source: src, fromContext: true})
			}
		}
	}
	return ms
}

// View is what a RUN sees of the build context: its bind mounts, which hide whatever
// lies beneath them, then the COPY and ADD layers of its stage chain, later layers
// shadowing earlier ones and the longest target winning. Paths in are absolute
// container paths; paths out are relative to the context, slash-separated ("." for
// the context itself). Whether a context source is a file or a directory is read
// from the host when the View is made.
type View struct {
	ctx    string    // the build context on the host, absolute
	mounts []mapping // the RUN's mounts
	copies []mapping // COPY and ADD layers not hidden by a mount
	why    string
}

// NewView is the view of a RUN with mounts, in workdir, on the layers copies, of the
// build context ctx (an absolute host path). why, when not empty, says why the
// layout cannot be followed (a variable without a value in a COPY, …); the View then
// answers only [View.Why] and [View.Sources] truthfully.
func NewView(ctx, workdir string, mounts []*instructions.Mount, copies []CopyLayer, why string) *View {
	v := &View{ctx: ctx, mounts: mountMappings(workdir, mounts), why: why}
	for _, c := range copyMappings(ctx, copies) {
		hidden := false
		for _, m := range v.mounts {
			if c.target == m.target || Under(c.target, m.target) {
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

// Why says why the layout cannot be followed; "" when it can.
func (v *View) Why() string { return v.why }

// Under reports whether the container path p lies strictly below dir.
func Under(p, dir string) bool {
	return dir == "/" && p != "/" || strings.HasPrefix(p, dir+"/")
}

// ContextPath joins a context-relative source and a path below it: "." for the
// context itself.
func ContextPath(source, rest string) string {
	p := strings.TrimPrefix(path.Join("/", source, rest), "/")
	if p == "" {
		return "."
	}
	return p
}

func (v *View) all() []mapping { return slices.Concat(v.mounts, v.copies) }

// resolve finds the mapping p lies in: the innermost mount, else the innermost layer.
func (v *View) resolve(p string) (mapping, bool) {
	if m, ok := longest(v.mounts, p); ok {
		return m, true
	}
	return longest(v.copies, p)
}

// FileState says whether a file exists at a container path.
type FileState int

const (
	FileAbsent  FileState = iota // nothing maps there, or the context has no such file
	FilePresent                  // a regular file of the context
	FileMaybe                    // something other than the context maps there
)

// File reports whether the container path p is a regular file of the context and
// which; for FileMaybe, why says where p may come from.
func (v *View) File(p string) (rel string, st FileState, why string) {
	m, ok := v.resolve(p)
	if !ok {
		return "", FileAbsent, ""
	}
	if !m.fromContext {
		return "", FileMaybe, fmt.Sprintf("%s may come from %s", p, m.origin)
	}
	rel = m.hostRel(p)
	if fi, err := os.Stat(filepath.Join(v.ctx, filepath.FromSlash(rel))); err != nil || !fi.Mode().IsRegular() {
		return "", FileAbsent, ""
	}
	return rel, FilePresent, ""
}

// FindUp looks for a file called name in dir and its parents, as the go command
// looks for go.mod and go.work: the container path found, the context path it is,
// its state and, for FileMaybe, why.
func (v *View) FindUp(dir, name string) (container, rel string, st FileState, why string) {
	for p := dir; ; p = path.Dir(p) {
		fp := path.Join(p, name)
		rel, st, why := v.File(fp)
		if st != FileAbsent {
			return fp, rel, st, why
		}
		if p == "/" {
			return "", "", FileAbsent, ""
		}
	}
}

// CheckTree returns why the container tree at root does not hold exactly the
// context's tree at hostRoot ("" when it does): a layer from elsewhere inside or
// over it, or a context directory copied to another place than it has on the host.
// Files the context has and the container lacks (a narrower COPY, .dockerignore) do
// not count: a host tool then sees more, never less.
func (v *View) CheckTree(root, hostRoot string) string {
	for _, m := range v.all() {
		switch {
		case m.target == root || Under(m.target, root):
			if !m.fromContext {
				return fmt.Sprintf("%s comes from %s", m.target, m.origin)
			}
			target := m.target
			if m.pattern != "" {
				target = path.Dir(m.pattern)
			}
			if want := ContextPath(hostRoot, strings.TrimPrefix(target, root)); ContextPath(m.source, "") != want {
				return fmt.Sprintf("%s holds %s of the build context, which the host has at %s", target, ContextPath(m.source, ""), want)
			}
		case Under(root, m.target):
			if m.exact {
				continue
			}
			if !m.fromContext {
				return fmt.Sprintf("%s may hold files from %s", root, m.origin)
			}
			if m.pattern != "" {
				return fmt.Sprintf("a COPY with a wildcard fills %s", m.target)
			}
			if got := ContextPath(m.source, strings.TrimPrefix(root, m.target)); got != hostRoot {
				return fmt.Sprintf("%s holds %s of the build context, which the host has at %s", root, got, hostRoot)
			}
		}
	}
	return ""
}

// Sources are the context paths the RUN can see ("." for all of it).
func (v *View) Sources() []string {
	var out []string
	for _, m := range v.all() {
		if m.fromContext {
			out = append(out, ContextPath(m.source, ""))
		}
	}
	return out
}

// ReadsUnder lists the context paths reading the container path p (and, for a
// directory, everything below it) may read.
func (v *View) ReadsUnder(p string) []string {
	var out []string
	if m, ok := v.resolve(p); ok && m.fromContext {
		out = append(out, m.hostRel(p))
	}
	for _, m := range v.all() {
		if m.fromContext && Under(m.target, p) {
			out = append(out, ContextPath(m.source, ""))
		}
	}
	return out
}

// HostDir maps a container directory to an existing context directory.
func (v *View) HostDir(p string) (string, bool) {
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

// Region is a container path that a COPY or ADD from the context fills.
type Region struct {
	Path string
	File bool // a single file of the context; else a directory (or a wildcard's)
}

// CopyRegions are where the stage's COPY and ADD layers from the context put
// files: where a RUN that writes changes the context's files.
// A wildcard COPY's region is each file it matches on the host now, or its
// destination directory when it matches a directory.
func (v *View) CopyRegions() []Region {
	var out []Region
	for _, m := range v.copies {
		if !m.fromContext {
			continue
		}
		if m.pattern != "" {
			if files, ok := v.matches(m); ok {
				for _, f := range files {
					out = append(out, Region{Path: path.Join(m.target, path.Base(f)), File: true})
				}
				continue
			}
		}
		out = append(out, Region{Path: m.target, File: m.exact})
	}
	return out
}

// Fills says whether the RUN's mounts or the COPY and ADD layers of its stage chain
// may put something at the container path p or below it: "" when none does, else
// where it comes from. A mount over, at or under p counts; so does a layer at or
// under p, and a layer over p from elsewhere than the context. A directory of the
// context copied over p counts when the host has the path p stands for (a file
// excluded by .dockerignore is taken as there).
func (v *View) Fills(p string) string {
	for _, m := range v.mounts {
		if m.target == p || Under(m.target, p) || Under(p, m.target) {
			return fmt.Sprintf("%s is under %s at %s", p, m.origin, m.target)
		}
	}
	for _, m := range v.copies {
		target := m.target
		if m.pattern != "" {
			target = path.Dir(m.pattern)
		}
		switch {
		case target == p || Under(target, p):
			return fmt.Sprintf("a COPY or ADD puts files at %s", target)
		case !Under(p, target) || m.exact:
		case !m.fromContext:
			origin := m.origin
			if origin == "" {
				origin = "another stage or an image"
			}
			return fmt.Sprintf("%s may come from %s", p, origin)
		case m.pattern != "":
			return fmt.Sprintf("a COPY with a wildcard fills %s", target)
		default:
			if _, err := os.Lstat(filepath.Join(v.ctx, filepath.FromSlash(m.hostRel(p)))); err == nil {
				return fmt.Sprintf("%s holds %s of the build context", p, m.hostRel(p))
			}
		}
	}
	return ""
}

// matches lists the context files the wildcard mapping m matches on the host;
// false when it matches a directory too.
func (v *View) matches(m mapping) ([]string, bool) {
	found, err := filepath.Glob(filepath.Join(v.ctx, filepath.FromSlash(ContextPath(m.source, "")), path.Base(m.pattern)))
	if err != nil {
		return nil, false
	}
	var files []string
	for _, match := range found {
		rel := ContextPath(m.source, path.Base(filepath.ToSlash(match)))
		if fi, err := os.Stat(match); err != nil || !fi.Mode().IsRegular() {
			return nil, false // a matched directory's contents are copied
		}
		files = append(files, rel)
	}
	return files, true
}

// Files lists the context files the RUN sees when it sees no directory of the
// context, only single files (COPY go.mod go.sum ./, a bind mount of one file, a
// wildcard COPY that matches files, expanded on the host now): then those are all
// it can read of the context, whatever it runs. ok is false when it sees a
// directory of the context or the layout cannot be followed. A file a wildcard
// would match later is a new path, which no analysis claims.
func (v *View) Files() (files []string, ok bool) {
	if v.why != "" {
		return nil, false
	}
	isFile := func(rel string) bool {
		fi, err := os.Stat(filepath.Join(v.ctx, filepath.FromSlash(rel)))
		return err == nil && fi.Mode().IsRegular()
	}
	for _, m := range v.all() {
		switch {
		case !m.fromContext:
		case m.exact:
			files = append(files, ContextPath(m.source, ""))
		case m.pattern != "":
			matched, ok := v.matches(m)
			if !ok {
				return nil, false
			}
			files = append(files, matched...)
		default:
			// A mount's source, or a COPY source that is a directory.
			rel := ContextPath(m.source, "")
			if !isFile(rel) {
				return nil, false
			}
			files = append(files, rel)
		}
	}
	return files, true
}
