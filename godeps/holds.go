package godeps

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/devloop/devloop/internal/ospath"
)

// ctimeSlack is how much earlier than the real time of a write the kernel may stamp a
// file's change time: Linux takes it from a clock that advances once per tick (up to
// 10 ms). A file changed less than this before go list started is not trusted.
const ctimeSlack = 20 * time.Millisecond

// Holds reports whether the answer still holds after the context paths changed
// (slash-separated, relative to Query.Root) changed, without running go list again;
// why says what needs a new answer. The answer holds when no change can alter which
// directories and files the build reads:
//
//   - no module file changed (go.mod, go.sum, go.work, go.work.sum, vendor/modules.txt);
//   - every changed Go file (other than a _test.go file) of a package the build
//     compiles has the header — package clause, build constraints, imports, cgo
//     preamble and //go:embed lines — it had when go list read it, or was removed;
//   - no C, C++, assembler or header file changed where the build's cgo reads them
//     (its #include lines may name new directories);
//   - the build imports no package that was missing when go list ran (a change may
//     have created it), and none of its package patterns holds "..." when a Go file
//     changed outside the packages it compiles (the file may be a new package it
//     matches).
//
// A Go file outside the packages the build compiles cannot reach it without one of
// these changes: only an import in one of its files, a missing package appearing, a
// pattern or a module file brings a new package in. A header is compared with the
// one recorded when the answer was learnt; a file that changed while go list ran has
// no recorded header, so any change to it needs a new answer.
func (in Inputs) Holds(changed []string) (ok bool, why string) {
	if len(changed) == 0 {
		return true, ""
	}
	if len(in.Missing) > 0 {
		return false, fmt.Sprintf("the build imports %s, which no package provided", in.Missing[0])
	}
	for _, p := range changed {
		if in.isModuleFile(p) {
			return false, p + " changed"
		}
		dir := path.Dir(p)
		ext := path.Ext(p)
		switch {
		case ext == ".go":
			if strings.HasSuffix(p, "_test.go") {
				continue
			}
			if !in.dirs[dir] {
				if in.Open {
					return false, fmt.Sprintf("%s changed and a package pattern of the build holds \"...\"", p)
				}
				continue
			}
			got, err := goHeader(filepath.Join(in.root, filepath.FromSlash(p)))
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed: the build reads less, not more
			}
			want, recorded := in.headers[p]
			switch {
			case err != nil:
				return false, fmt.Sprintf("%s: %v", p, err)
			case !recorded || want == "":
				return false, p + " is new, or changed while go list ran"
			case got != want:
				return false, p + ": its imports, build constraints or embed patterns changed"
			}
		case cgoExts[ext]:
			if in.dirs[dir] || in.inTree(p) {
				return false, p + " changed where cgo reads it"
			}
		}
	}
	return true, ""
}

// cgoExts are the extensions of the files a package's cgo and assembler read.
var cgoExts = map[string]bool{
	".c": true, ".h": true, ".cc": true, ".cpp": true, ".cxx": true, ".hh": true, ".hpp": true, ".hxx": true,
	".m": true, ".s": true, ".S": true, ".sx": true, ".f": true, ".F": true, ".for": true, ".f90": true,
	".swig": true, ".swigcxx": true,
}

func (in Inputs) isModuleFile(p string) bool {
	switch path.Base(p) {
	case "go.mod", "go.sum", "go.work", "go.work.sum":
		return true
	}
	return slices.Contains(in.Files, p)
}

func (in Inputs) inTree(p string) bool {
	for _, t := range in.Trees {
		if _, ok := ospath.Child(t, p); ok {
			return true
		}
	}
	return false
}

// recordHeaders records the header of every Go file in the answer's directories, for
// Holds. A file whose change time is not before start (when go list began reading)
// minus ctimeSlack gets no header: go list may have read an earlier version. Headers
// of files unchanged since an earlier answer (same inode, size and times) are reused.
func (l *Lister) recordHeaders(in *Inputs, start time.Time) {
	in.headers = map[string]string{}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.headerCache == nil {
		l.headerCache = map[string]cachedHeader{}
	}
	for _, dir := range in.Dirs {
		entries, err := os.ReadDir(filepath.Join(in.root, filepath.FromSlash(dir)))
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			rel := path.Join(dir, name)
			file := filepath.Join(in.root, filepath.FromSlash(rel))
			fi, err := os.Lstat(file)
			if err != nil || !changedBefore(fi, start.Add(-ctimeSlack)) {
				in.headers[rel] = ""
				continue
			}
			st := fileStamp(fi)
			if c, ok := l.headerCache[file]; ok && c.stamp == st {
				in.headers[rel] = c.header
				continue
			}
			h, err := goHeader(file)
			if err != nil {
				h = ""
			}
			in.headers[rel] = h
			l.headerCache[file] = cachedHeader{stamp: st, header: h}
		}
	}
}

// cachedHeader is a file's header and the stamp (inode, size, times) it was read at.
type cachedHeader struct {
	stamp, header string
}

// goHeader digests what of a Go file decides what a build reads: its package clause,
// build constraints, imports (with the cgo preamble) and //go:embed lines.
func goHeader(file string) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ImportsOnly|parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return "", fmt.Errorf("parse imports: %w", err)
	}
	var b strings.Builder
	b.WriteString("package " + f.Name.Name + "\n")
	for _, g := range f.Comments {
		if g.Pos() >= f.Package {
			break
		}
		for _, c := range g.List {
			if strings.HasPrefix(c.Text, "//go:build") || strings.HasPrefix(c.Text, "// +build") {
				b.WriteString(c.Text + "\n")
			}
		}
	}
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		for _, s := range gd.Specs {
			is := s.(*ast.ImportSpec)
			b.WriteString("import " + is.Path.Value + "\n")
			if is.Path.Value != `"C"` {
				continue
			}
			// The cgo preamble: the comment right above `import "C"`, or above
			// the import declaration that holds it.
			doc := is.Doc
			if doc == nil {
				doc = gd.Doc
			}
			if doc != nil {
				for _, c := range doc.List {
					b.WriteString(c.Text + "\n")
				}
			}
		}
	}
	for line := range strings.SplitSeq(string(src), "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "//go:embed") {
			b.WriteString(t + "\n")
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:]), nil
}
