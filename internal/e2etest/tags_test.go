package e2etest

import (
	"bufio"
	"go/build/constraint"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestE2ETestsNeedTheTag: every end-to-end test file — named *_e2e_test.go, in
// test/faults, or calling RequireBuildKit — builds only with the e2e tag, so that
// `go test ./...` runs the unit tests without a daemon and `make test` (-tags e2e)
// runs everything.
func TestE2ETestsNeedTheTag(t *testing.T) {
	root := RepoRoot()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return fs.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		e2e := strings.HasSuffix(rel, "_e2e_test.go") || strings.HasPrefix(rel, "test/faults/") ||
			strings.Contains(string(data), "RequireBuildKit(")
		if !e2e || rel == "internal/e2etest/tags_test.go" {
			return nil
		}
		checked++
		if expr := buildConstraint(string(data)); expr == nil || !requiresTag(expr, "e2e") {
			t.Errorf("%s: an end-to-end test file without the e2e build tag (want a first line like //go:build e2e && unix)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("found no end-to-end test files")
	}
}

// buildConstraint returns the file's //go:build expression, nil without one.
func buildConstraint(src string) constraint.Expr {
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if constraint.IsGoBuild(line) {
			expr, err := constraint.Parse(line)
			if err != nil {
				return nil
			}
			return expr
		}
		if line != "" && !strings.HasPrefix(line, "//") {
			return nil // constraints come before the package clause
		}
	}
	return nil
}

// requiresTag reports whether expr can hold only when tag is set: tag is one of the
// terms of its top-level conjunction.
func requiresTag(expr constraint.Expr, tag string) bool {
	switch x := expr.(type) {
	case *constraint.TagExpr:
		return x.Tag == tag
	case *constraint.AndExpr:
		return requiresTag(x.X, tag) || requiresTag(x.Y, tag)
	}
	return false
}
