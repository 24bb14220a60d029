//go:build e2e && unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// listingDockerfile exports the list of what reached the build context.
const listingDockerfile = `FROM alpine AS list
RUN --mount=type=bind,target=/ctx cd /ctx && find . -mindepth 1 | sort > /listing

FROM scratch AS out
COPY --from=list /listing /
`

// TestContextLeavesOutEditorFilesAndConfig: editor temp files (vim swap and write test,
// backups, emacs lock symlinks and auto-saves, JetBrains safe-write files, sed -i
// temp files, .DS_Store) and devloop.yaml never reach the build, even where the
// .dockerignore re-includes them; `devloop explain` says the same thing about every
// path; and editing only such files leaves the build fully cached.
func TestContextLeavesOutEditorFilesAndConfig(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := tinyProject(t, listingDockerfile, "")
	e2etest.WriteFile(t, filepath.Join(dir, ".dockerignore"), "*.txt\n!keep/**\n")
	sent := []string{"main.go", "sedentary", "keep/notes.txt", "keep/main.go", "Dockerfile", ".dockerignore"}
	neverSent := []string{
		".main.go.swp", "keep/.main.go.swo", "main.go~", "#main.go#", "main.go___jb_tmp___",
		"4913", "sedAb3dE1", "keep/sedQ9x2Lm", ".DS_Store", "keep/main.go~", "devloop.yaml",
	}
	for _, f := range append(slices.Clone(sent), neverSent...) {
		if f == "Dockerfile" || f == ".dockerignore" || f == "devloop.yaml" {
			continue
		}
		e2etest.WriteFile(t, filepath.Join(dir, f), "content of "+f+"\n")
	}
	// BuildKit's cache is content-addressed: a nonce keeps an earlier run's cache of
	// the same context from hiding a miss below.
	e2etest.WriteFile(t, filepath.Join(dir, "main.go"), fmt.Sprintf("// %d\n", time.Now().UnixNano()))
	// emacs's lock file: a dangling symlink.
	if err := os.Symlink("me@host.4242:1700000000", filepath.Join(dir, ".#main.go")); err != nil {
		t.Fatal(err)
	}
	neverSent = append(neverSent, ".#main.go")

	r := runDevloop(t, dir, "build", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("build: %v", r)
	}
	data, err := os.ReadFile(filepath.Join(dir, "out", "listing"))
	if err != nil {
		t.Fatal(err)
	}
	listing := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		listing[strings.TrimPrefix(l, "./")] = true
	}
	for _, f := range sent {
		if !listing[f] {
			t.Errorf("%s did not reach the build context; listing:\n%s", f, data)
		}
	}
	for _, f := range neverSent {
		if listing[f] {
			t.Errorf("%s reached the build context; listing:\n%s", f, data)
		}
	}

	// explain agrees with what the build saw, path by path.
	ex := runDevloop(t, dir, append([]string{"explain"}, append(slices.Clone(sent), neverSent...)...)...)
	if ex.Code != 0 {
		t.Fatalf("explain: %v", ex)
	}
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(ex.Stdout), "\n") {
		path, rest, _ := strings.Cut(l, ": ")
		lines[path] = rest
	}
	for _, f := range sent {
		if !strings.Contains(lines[f], ", in the build context") {
			t.Errorf("explain %s = %q, want it in the build context (the build saw it)", f, lines[f])
		}
	}
	for _, f := range neverSent {
		if !strings.Contains(lines[f], "not in the build context") {
			t.Errorf("explain %s = %q, want it not in the build context (the build did not see it)", f, lines[f])
		}
	}
	if want := "watched, not in the build context — devloop's config file"; !strings.HasPrefix(lines["devloop.yaml"], want) {
		t.Errorf("explain devloop.yaml = %q, want it to start with %q", lines["devloop.yaml"], want)
	}
	if want := "not watched, not in the build context — editor temp file (vim swap)"; !strings.HasPrefix(lines[".main.go.swp"], want) {
		t.Errorf("explain .main.go.swp = %q, want it to start with %q", lines[".main.go.swp"], want)
	}

	// Saving only editor temp files and devloop.yaml changes nothing the build sees.
	for _, f := range []string{".main.go.swp", "main.go~", "sedAb3dE1", "4913"} {
		e2etest.WriteFile(t, filepath.Join(dir, f), "edited "+f+"\n")
	}
	e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), "# edited\ntargets:\n  out:\n    stage: out\n    output: out\n")
	r = runDevloop(t, dir, "build", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("second build: %v", r)
	}
	if !stepCached(r.Stderr, "find . -mindepth 1") {
		t.Errorf("the RUN step ran again after only editor temp files and devloop.yaml changed:\n%s", r.Stderr)
	}
	if regexp.MustCompile(`updated out/listing`).MatchString(r.Stdout) {
		t.Errorf("out/listing was updated:\n%v", r)
	}
}
