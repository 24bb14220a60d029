//go:build e2e && unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// copyAllDockerfile copies the whole context, then runs a step whose output differs on
// every run: the exported stamp tells whether `COPY . .` and what follows ran again.
const copyAllDockerfile = `FROM alpine AS build
WORKDIR /src
COPY . .
RUN find . -mindepth 1 | sort > /listing && cat /proc/sys/kernel/random/uuid > /stamp

FROM scratch AS out
COPY --from=build /listing /stamp /
`

// TestWatchIgnoredNotSent: what watch.ignore and .git keep from the watcher is not in
// the build context either (issue 16 §6: a server writing data/state, or `git diff`
// refreshing .git/index, made the next build rerun `COPY . .` and every step after
// it), unless a "!" line of .dockerignore names it; `devloop explain` says so and
// names the line to add.
func TestWatchIgnoredNotSent(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := tinyProject(t, copyAllDockerfile, "watch:\n  ignore: [\"data/**\"]\n")
	e2etest.WriteFile(t, filepath.Join(dir, ".dockerignore"), "!data/seed.json\n")
	// A nonce: an earlier run's cache of the same context must not hide a miss.
	e2etest.WriteFile(t, filepath.Join(dir, "main.go"), fmt.Sprintf("package main // %d\n", time.Now().UnixNano()))
	for _, f := range []string{"data/state", "data/seed.json", ".git/HEAD", ".git/index"} {
		e2etest.WriteFile(t, filepath.Join(dir, f), "v1 of "+f+"\n")
	}
	build := func(step string) (listing, stamp string) {
		t.Helper()
		r := runDevloop(t, dir, "build", "--progress", "plain")
		if r.Code != 0 {
			t.Fatalf("%s: %v", step, r)
		}
		l, err := os.ReadFile(filepath.Join(dir, "out", "listing"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := os.ReadFile(filepath.Join(dir, "out", "stamp"))
		if err != nil {
			t.Fatal(err)
		}
		return string(l), string(s)
	}

	listing, stamp := build("first build")
	for _, f := range []string{"./main.go", "./data/seed.json", "./.dockerignore", "./Dockerfile"} {
		if !strings.Contains(listing, f+"\n") {
			t.Errorf("%s was not sent; the build saw:\n%s", f, listing)
		}
	}
	for _, f := range []string{"./data/state", "./.git"} {
		if strings.Contains(listing, f+"\n") {
			t.Errorf("%s was sent; the build saw:\n%s", f, listing)
		}
	}

	// The server writes its state, git refreshes its index: the next build reruns nothing.
	e2etest.WriteFile(t, filepath.Join(dir, "data", "state"), "v2: written by the server\n")
	e2etest.WriteFile(t, filepath.Join(dir, ".git", "index"), "v2: refreshed by git diff\n")
	if _, again := build("build after data/state and .git/index changed"); again != stamp {
		t.Errorf("`COPY . .` and the RUN after it ran again after only data/state and .git/index changed")
	}

	// data/seed.json is sent (its "!" line): a change to it reaches the build.
	e2etest.WriteFile(t, filepath.Join(dir, "data", "seed.json"), "v2 of the seed\n")
	if _, again := build("build after data/seed.json changed"); again == stamp {
		t.Errorf("the build did not see the change of data/seed.json, which .dockerignore sends")
	}

	ex := runDevloop(t, dir, "explain", "data/state", "data/seed.json", ".git/index", "main.go")
	if ex.Code != 0 {
		t.Fatalf("explain: %v", ex)
	}
	for _, want := range []string{
		`data/state: not watched, not in the build context — devloop.yaml watch.ignore: "data/**": neither watched nor sent (a "!data/state" line in .dockerignore sends it)`,
		`data/seed.json: not watched, in the build context — devloop.yaml watch.ignore: "data/**": not watched; sent because of .dockerignore:1: "!data/seed.json"`,
		`.git/index: not watched, not in the build context — .git: neither watched nor sent (a "!.git" line in .dockerignore sends .git)`,
		`main.go: watched, in the build context`,
	} {
		if !strings.Contains(ex.Stdout, want) {
			t.Errorf("explain output lacks %q:\n%s", want, ex.Stdout)
		}
	}

	// watch.ignore decides the context too: changing it while up runs rebuilds.
	up := startUp(t, dir)
	up.WaitLines(reOK, 1, 5*time.Minute)
	e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), "watch:\n  ignore: [\"data/**\", \"tmp/**\"]\ntargets:\n  out:\n    stage: out\n    output: out\n")
	up.WaitLines(regexp.MustCompile(`^\[devloop\] reloaded devloop\.yaml: applied watch\.ignore; rebuilding out$`), 1, time.Minute)
	up.WaitLines(reOK, 2, 2*time.Minute)
	if code := up.Stop(syscall.SIGINT, time.Minute); code != 0 {
		t.Errorf("devloop up exited %d after Ctrl-C", code)
	}
}
