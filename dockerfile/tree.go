package dockerfile

import (
	"path"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// fileOp is an instruction that puts files into a stage: a COPY or ADD (copy,
// from the stage or image from, "" for the context), a RUN, or a WORKDIR (the
// directory it creates).
type fileOp struct {
	line    int
	copy    *CopyLayer
	from    string
	run     bool
	workdir string
}

// ImageConfig is what a stage's image runs, as the Dockerfile sets it along the
// stage's FROM chain (ENTRYPOINT, CMD, EXPOSE, WORKDIR).
type ImageConfig struct {
	// Entrypoint and Cmd are argv lists; the shell form is the SHELL in effect
	// (/bin/sh -c by default) followed by the command line.
	Entrypoint []string
	Cmd        []string
	Expose     []string // as written, expanded: "8080", "8080/tcp", "53/udp"
	WorkingDir string   // "" when no WORKDIR set it
	// Known is false when the chain starts at an image whose own ENTRYPOINT and
	// CMD are unknown and the Dockerfile sets neither.
	Known bool
}

func (c ImageConfig) clone() ImageConfig {
	c.Entrypoint, c.Cmd, c.Expose = slices.Clone(c.Entrypoint), slices.Clone(c.Cmd), slices.Clone(c.Expose)
	return c
}

// commandLine is the argv of an ENTRYPOINT or CMD.
func commandLine(c instructions.ShellDependantCmdLine, shell []string) []string {
	if !c.PrependShell {
		return slices.Clone(c.CmdLine)
	}
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(slices.Clone(shell), strings.Join(c.CmdLine, " "))
}

// Config is stage i's image configuration.
func (d *Dockerfile) Config(i int) ImageConfig { return d.stages[i].config.clone() }

// File is a file in a stage's filesystem, and where it was made.
type File struct {
	Path string // absolute container path
	// Dir marks an entry of files whose names are unknown, at or below Path (a
	// copied directory of the context, executables of a package pattern).
	Dir bool
	// Stage is the stage whose RUN made the file, followed through COPY --from;
	// -1 when it comes from the build context or an image. Source is its path
	// there (context-relative for the context).
	Stage  int
	Source string
	Line   int // the line of the instruction that put it into the stage it is listed for
}

// Tree is a stage's filesystem as far as the Dockerfile tells it: what COPY, ADD
// and WORKDIR put there along its FROM chain (an image base's own files are
// unknown) and what its RUNs make, as produced says.
type Tree struct {
	Files []File   // by path, the last one written wins
	Dirs  []string // directories its WORKDIRs create
}

// Produced lists, for a stage, the files its RUN instructions make, each with the
// line of its RUN: what the Dockerfile alone does not tell (a language analysis
// does, such as golang.Outputs). nil: none known.
type Produced func(stage int) []File

// StageTree is stage i's filesystem at its end. A COPY --from of a stage copies
// what the source stage's tree holds at the source path: a file (to the
// destination, or into it when it is a directory), a directory's contents, or a
// wildcard's matches (a matched directory's contents), as BuildKit copies; a source
// the tree does not know is taken by its spelling (a file unless it ends in a
// slash). Sources from the context and images are taken by their spelling.
func (d *Dockerfile) StageTree(i int, produced Produced) Tree {
	memo := map[int]*Tree{}
	return *d.tree(i, produced, memo)
}

func (d *Dockerfile) tree(i int, produced Produced, memo map[int]*Tree) *Tree {
	if t, ok := memo[i]; ok {
		return t
	}
	t := &Tree{}
	memo[i] = t // a cycle (none BuildKit accepts) ends here
	info := d.stages[i]
	if info.parent >= 0 {
		pt := d.tree(info.parent, produced, memo)
		t.Files, t.Dirs = slices.Clone(pt.Files), slices.Clone(pt.Dirs)
	}
	for _, op := range info.ops {
		switch {
		case op.workdir != "":
			if !slices.Contains(t.Dirs, op.workdir) && op.workdir != "/" {
				t.Dirs = append(t.Dirs, op.workdir)
			}
		case op.run:
			if produced == nil {
				continue
			}
			for _, f := range produced(i) {
				if f.Line == op.line {
					f.Stage, f.Source = i, f.Path
					t.add(f)
				}
			}
		case op.copy != nil:
			src := -1
			if op.from != "" {
				src = d.Lookup(op.from, RefCopyFrom, 0)
			}
			var from *Tree
			if src >= 0 {
				from = d.tree(src, produced, memo)
			}
			for _, f := range copyFiles(*op.copy, from, src) {
				f.Line = op.line
				t.add(f)
			}
		}
	}
	return t
}

// add puts f into the tree, replacing a file at its path.
func (t *Tree) add(f File) {
	for k := range t.Files {
		if t.Files[k].Path == f.Path {
			t.Files[k] = f
			return
		}
	}
	t.Files = append(t.Files, f)
}

// copyFiles are the files the COPY or ADD l creates, copying from the tree from of
// stage src (nil, -1: the context or an image).
func copyFiles(l CopyLayer, from *Tree, src int) []File {
	var out []File
	for _, s := range l.sources {
		if from != nil {
			if fs := copyFromTree(l, ContainerPath("/", s), from); len(fs) > 0 {
				out = append(out, fs...)
				continue
			}
		}
		f := File{Stage: src, Source: s}
		switch {
		case IsRemote(s) && !l.destIsDir:
			f.Path = l.dest
		case IsRemote(s):
			f.Path, f.Dir = l.dest, true // the name comes from the URL or the response
		case isDirPath(s) || HasWildcard(s):
			f.Path, f.Dir = l.dest, true
		case l.destIsDir:
			f.Path = path.Join(l.dest, path.Base(s))
		default:
			f.Path = l.dest
		}
		if src >= 0 {
			f.Source = ContainerPath("/", s)
		}
		out = append(out, f)
	}
	return out
}

// copyFromTree copies what the tree holds at src (a container path, maybe a
// wildcard) to l's destination.
func copyFromTree(l CopyLayer, src string, from *Tree) []File {
	var out []File
	land := func(f File, p string) {
		f.Path = p
		out = append(out, f)
	}
	for _, f := range from.Files {
		switch {
		case HasWildcard(src):
			if ok, _ := path.Match(src, f.Path); ok {
				land(f, path.Join(l.dest, path.Base(f.Path)))
				continue
			}
			for a := path.Dir(f.Path); a != "/" && a != "."; a = path.Dir(a) {
				if ok, _ := path.Match(src, a); ok {
					land(f, path.Join(l.dest, strings.TrimPrefix(f.Path, a+"/")))
					break
				}
			}
		case f.Path == src && !f.Dir, f.Dir && Under(src, f.Path):
			// The file, or one of the unknown names of a directory.
			g := f
			g.Dir = false
			if f.Path != src {
				g.Source = path.Join(f.Source, strings.TrimPrefix(src, f.Path))
			}
			if l.destIsDir {
				land(g, path.Join(l.dest, path.Base(src)))
			} else {
				land(g, l.dest)
			}
		case f.Path == src || Under(f.Path, src):
			land(f, path.Join(l.dest, strings.TrimPrefix(f.Path, src)))
		}
	}
	return out
}
