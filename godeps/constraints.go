package godeps

import (
	"go/ast"
	"go/build"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// toolchainTag matches the build tags the toolchain's version and build decide
// rather than the build's configuration: release tags (go1.22), GOEXPERIMENT tags
// and architecture feature tags (amd64.v3, arm.7). The host's go command answers
// them for its own toolchain, which need not be the build's.
var toolchainTag = regexp.MustCompile(`^(go1\.[0-9]+|goexperiment\..+|boringcrypto|(386|amd64|arm|arm64|loong64|mips|mipsle|mips64|mips64le|ppc64|ppc64le|riscv64|s390x|wasm)\..+)$`)

// maxToolchainTags bounds the assignments tried for one file; a file naming more
// toolchain tags is assumed to be compiled.
const maxToolchainTags = 10

// mayImport returns the imports of p's files that the host left out but the build
// may compile: files whose build constraint holds for the query's configuration for
// some value of the toolchain tags. Their embed patterns are recorded too.
func (r *resolver) mayImport(p listedPackage) []string {
	var out []string
	for _, name := range p.IgnoredGoFiles {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file := filepath.Join(p.Dir, name)
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			continue // a file the compiler cannot parse fails the build that includes it
		}
		cgo := false
		var imports []string
		for _, imp := range f.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				continue
			}
			if path == "C" {
				cgo = true
				continue
			}
			imports = append(imports, path)
		}
		if cgo && r.q.Env["CGO_ENABLED"] != "1" {
			continue
		}
		if !r.mayMatch(p.Dir, name, fileConstraints(f)) {
			continue
		}
		out = append(out, imports...)
		if rel, ok := r.rel(p.Dir); ok {
			for _, pat := range embedDirectives(f) {
				if t := embedTree(pat); t != "" {
					r.trees[path.Join(rel, t)] = true
				} else {
					r.other[rel] = true // it may embed files of its own directory
				}
			}
		}
	}
	return out
}

// mayMatch reports whether the file name in dir, constrained by exprs, is compiled
// in the query's configuration for some value of the toolchain tags exprs name.
func (r *resolver) mayMatch(dir, name string, exprs []constraint.Expr) bool {
	uncertain := map[string]bool{}
	for _, expr := range exprs {
		collectTags(expr, func(tag string) {
			if toolchainTag.MatchString(tag) {
				uncertain[tag] = true
			}
		})
	}
	tags := make([]string, 0, len(uncertain))
	for t := range uncertain {
		tags = append(tags, t)
	}
	if len(tags) > maxToolchainTags {
		return true
	}
	for mask := 0; mask < 1<<len(tags); mask++ {
		ctxt := r.buildContext()
		for i, t := range tags {
			if mask&(1<<i) != 0 {
				ctxt.BuildTags = append(ctxt.BuildTags, t)
			}
		}
		if ok, err := ctxt.MatchFile(dir, name); err != nil || ok {
			return true // a file that cannot be read is assumed to be compiled
		}
	}
	return false
}

// fileConstraints are the //go:build (else // +build) expressions of f.
func fileConstraints(f *ast.File) []constraint.Expr {
	var goBuild, plusBuild []constraint.Expr
	for _, g := range f.Comments {
		if g.Pos() >= f.Package {
			break
		}
		for _, c := range g.List {
			switch {
			case constraint.IsGoBuild(c.Text):
				if e, err := constraint.Parse(c.Text); err == nil {
					goBuild = append(goBuild, e)
				}
			case constraint.IsPlusBuild(c.Text):
				if e, err := constraint.Parse(c.Text); err == nil {
					plusBuild = append(plusBuild, e)
				}
			}
		}
	}
	if len(goBuild) > 0 {
		return goBuild
	}
	return plusBuild
}

// embedDirectives returns the patterns of f's //go:embed lines.
func embedDirectives(f *ast.File) []string {
	var pats []string
	for _, g := range f.Comments {
		for _, c := range g.List {
			rest, ok := strings.CutPrefix(c.Text, "//go:embed")
			if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
				continue
			}
			for _, w := range strings.Fields(rest) {
				if u, err := strconv.Unquote(w); err == nil {
					w = u
				}
				pats = append(pats, w)
			}
		}
	}
	return pats
}

func collectTags(e constraint.Expr, f func(string)) {
	switch e := e.(type) {
	case *constraint.TagExpr:
		f(e.Tag)
	case *constraint.NotExpr:
		collectTags(e.X, f)
	case *constraint.AndExpr:
		collectTags(e.X, f)
		collectTags(e.Y, f)
	case *constraint.OrExpr:
		collectTags(e.X, f)
		collectTags(e.Y, f)
	}
}

// buildContext is the query's configuration as go/build sees it, without any
// toolchain tag.
func (r *resolver) buildContext() build.Context {
	ctxt := build.Context{
		GOOS:       r.q.Env["GOOS"],
		GOARCH:     r.q.Env["GOARCH"],
		CgoEnabled: r.q.Env["CGO_ENABLED"] == "1",
		Compiler:   "gc",
	}
	for _, fl := range r.q.Flags {
		name, value, _ := strings.Cut(strings.TrimPrefix(fl, "-"), "=")
		switch name {
		case "tags":
			ctxt.BuildTags = append(ctxt.BuildTags, splitTags(value)...)
		case "race", "msan", "asan":
			if value == "" || value == "true" {
				ctxt.BuildTags = append(ctxt.BuildTags, name)
			}
		}
	}
	return ctxt
}

// splitTags splits a -tags value: comma-separated, or space-separated as before Go 1.13.
func splitTags(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' })
}
