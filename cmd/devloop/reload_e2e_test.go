//go:build e2e && unix

package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// reloadYAML is the example's devloop.yaml for the reload tests; line numbers matter.
const reloadYAML = `build_args: {APP_VERSION: %s}
targets:
  server:
    stage: server
    output: .
    run:
      command: [bin/server, --addr, "127.0.0.1:%d"]
      stop_timeout: 2s
      ready: %s
  client:
    stage: client
    output: .
watch:
  debounce: 50ms
`

// TestUpReloadsConfig edits devloop.yaml while up runs: a new build argument is
// built and served, an invalid edit is reported with its line and changes nothing,
// its fix applies, a key that cannot change live is named with its line and not
// applied while the rest of the same edit is, and new run settings restart the
// process.
func TestUpReloadsConfig(t *testing.T) {
	e2etest.RequireBuildKit(t)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	yaml := func(version string) string { return fmt.Sprintf(reloadYAML, version, port, url) }
	dir := e2etest.ExampleProject(t, yaml("r1"))
	file := filepath.Join(dir, "devloop.yaml")
	up := startUp(t, dir)
	up.WaitLines(reOK, 1, 5*time.Minute)
	e2etest.WaitServes(t, url+"version", "r1", time.Minute)

	// 1. A changed build argument rebuilds the targets using it; the server serves it.
	e2etest.WriteFile(t, file, yaml("r2"))
	up.WaitLines(regexp.MustCompile(`^\[devloop\] reloaded devloop\.yaml: applied build_args\.APP_VERSION; rebuilding client, server$`), 1, time.Minute)
	e2etest.WaitServes(t, url+"version", "r2", 2*time.Minute)
	up.WaitLines(reOK, 2, time.Minute)

	// 2. An invalid edit: reported with file:line:col, nothing applied, no build.
	started := up.Count(reStarted)
	e2etest.WriteFile(t, file, strings.Replace(yaml("r3"), "  client:\n", "  client:\n    stag: client\n", 1))
	up.WaitLines(regexp.MustCompile(`^\[devloop\] devloop\.yaml:11:5: targets\.client\.stag: unknown key \(did you mean "stage"\?\)$`), 1, time.Minute)
	up.WaitLines(regexp.MustCompile(`^\[devloop\] devloop\.yaml not applied: the previous config keeps running$`), 1, time.Minute)

	// 3. The fix applies (the previous config kept running meanwhile: r2, no build).
	if got, err := e2etest.Get(url + "version"); err != nil || got != "r2" {
		t.Errorf("after the invalid edit GET /version = %q (err %v), want the old r2", got, err)
	}
	e2etest.WriteFile(t, file, yaml("r3"))
	up.WaitLines(regexp.MustCompile(`^\[devloop\] reloaded devloop\.yaml: applied build_args\.APP_VERSION; rebuilding client, server$`), 2, time.Minute)
	e2etest.WaitServes(t, url+"version", "r3", 2*time.Minute)
	if got := up.Count(reStarted); got != started+1 {
		t.Errorf("builds started since the invalid edit = %d, want 1 (for its fix)", got-started)
	}
	up.WaitLines(reOK, 3, time.Minute)

	// 4. A key that cannot change live, in the same edit as one that can.
	started = up.Count(reStarted)
	e2etest.WriteFile(t, file, "builder: {address: \"tcp://127.0.0.1:1\"}\n"+strings.Replace(yaml("r3"), "debounce: 50ms", "debounce: 60ms", 1))
	up.WaitLines(regexp.MustCompile(`^\[devloop\] devloop\.yaml:1: builder\.address changed: restart devloop up to apply it \(nothing of it was applied\)$`), 1, time.Minute)
	up.WaitLines(regexp.MustCompile(`^\[devloop\] reloaded devloop\.yaml: applied watch\.debounce$`), 1, time.Minute)

	// 5. New run settings restart the process with them, without a build. The
	// builder.address line stays and is reported again: it is still not applied.
	pids := up.Count(rePID)
	e2etest.WriteFile(t, file, "builder: {address: \"tcp://127.0.0.1:1\"}\n"+strings.NewReplacer("debounce: 50ms", "debounce: 60ms", "stop_timeout: 2s", "stop_timeout: 3s").Replace(yaml("r3")))
	up.WaitLines(regexp.MustCompile(`^\[devloop\] reloaded devloop\.yaml: applied targets\.server\.run\.stop_timeout; restarting server$`), 1, time.Minute)
	up.WaitLines(rePID, pids+1, time.Minute)
	e2etest.WaitServes(t, url+"version", "r3", time.Minute)
	if n := up.Count(regexp.MustCompile(`builder\.address changed`)); n != 2 {
		t.Errorf("builder.address reported %d times, want 2 (once per reload, never applied)", n)
	}
	// The builder is still the one up started with: an edit builds.
	e2etest.SetGreeting(t, dir, "hello after reloads")
	e2etest.WaitServes(t, url, "hello after reloads", 2*time.Minute)
	if got := up.Count(reStarted); got != started+1 {
		t.Errorf("builds started by steps 4, 5 and one edit = %d, want 1 (for the edit)", got-started)
	}
}

// TestUpReloadsIgnoreFile adds a .dockerignore line while up runs: the context
// changes (every target is rebuilt) and later edits in the excluded directory start
// no build, while edits elsewhere still do. Both targets list assets/ under only:, so
// before the .dockerignore change an edit there is an input of both (devloop's own
// analysis would find that go build never reads it, and build nothing either way).
func TestUpReloadsIgnoreFile(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := e2etest.ExampleProject(t, `
targets:
  server: {stage: server, output: ., only: [go.mod, go.sum, cmd, internal, assets]}
  client: {stage: client, output: ., only: [go.mod, go.sum, cmd, internal, assets]}
watch: {debounce: 50ms}
`)
	e2etest.WriteFile(t, filepath.Join(dir, "assets", "a.txt"), "a\n")
	up := startUp(t, dir)
	up.WaitLines(reOK, 1, 5*time.Minute)

	// Before: an edit in assets/ builds.
	e2etest.WriteFile(t, filepath.Join(dir, "assets", "a.txt"), "a2\n")
	up.WaitLines(regexp.MustCompile(`^\[devloop\] build started #2: .*assets/a\.txt`), 1, time.Minute)
	up.WaitLines(reOK, 2, 2*time.Minute)

	e2etest.WriteFile(t, filepath.Join(dir, ".dockerignore"), "bin/\n.devloop/\n*.md\nassets/\n")
	up.WaitLines(regexp.MustCompile(`^\[devloop\] reloaded \.dockerignore: applied the build context and watch rules; rebuilding client, server$`), 1, time.Minute)
	up.WaitLines(regexp.MustCompile(`^\[devloop\] build started #3: client, server — 1 changed: \.dockerignore$`), 1, time.Minute)
	up.WaitLines(reOK, 3, 2*time.Minute)

	// After: an edit in assets/ builds nothing; the next real edit builds once,
	// without it.
	started := up.Count(reStarted)
	e2etest.WriteFile(t, filepath.Join(dir, "assets", "a.txt"), "a3\n")
	e2etest.WriteFile(t, filepath.Join(dir, "assets", "new", "b.txt"), "b\n")
	e2etest.SetGreeting(t, dir, "hello")
	up.WaitLines(reOK, 4, 2*time.Minute)
	if got := up.Count(reStarted); got != started+1 {
		t.Errorf("builds started after the assets edits and one real edit = %d, want 1", got-started)
	}
	if l := up.WaitLines(regexp.MustCompile(`^\[devloop\] build started #4: .*`), 1, time.Second)[0]; strings.Contains(l, "assets/") {
		t.Errorf("a build after the .dockerignore change lists assets/: %s", l)
	}
}

// TestUpReloadsSiblings: the other keys and files a reload handles. A secret and
// watch.ignore in one edit (every target rebuilt for the secret; edits the new glob
// ignores start no build), a stage the Dockerfile does not have (reported, nothing
// applied), and a <Dockerfile>.dockerignore appearing (it replaces .dockerignore: a new
// context, every target rebuilt).
func TestUpReloadsSiblings(t *testing.T) {
	e2etest.RequireBuildKit(t)
	const base = `targets:
  server: {stage: server, output: .}
  client: {stage: client, output: .}
watch:
  debounce: 50ms
`
	dir := e2etest.ExampleProject(t, base)
	file := filepath.Join(dir, "devloop.yaml")
	e2etest.WriteFile(t, filepath.Join(dir, "assets", "a.txt"), "a\n")
	e2etest.WriteFile(t, filepath.Join(dir, "data", "d.txt"), "d\n")
	up := startUp(t, dir)
	up.WaitLines(reOK, 1, 5*time.Minute)

	// 1. A secret and a watch.ignore glob.
	e2etest.WriteFile(t, file, "secrets: {token: {env: HOME}}\n"+base+"  ignore: [\"assets/**\"]\n")
	up.WaitLines(regexp.MustCompile(`^\[devloop\] reloaded devloop\.yaml: applied secrets\.token, watch\.ignore; rebuilding client, server$`), 1, time.Minute)
	up.WaitLines(reOK, 2, 2*time.Minute)
	started := up.Count(reStarted)
	e2etest.WriteFile(t, filepath.Join(dir, "assets", "a.txt"), "a2\n")
	e2etest.SetGreeting(t, dir, "hello 1")
	up.WaitLines(reOK, 3, 2*time.Minute)
	if got := up.Count(reStarted); got != started+1 {
		t.Errorf("builds started after an ignored edit and a real one = %d, want 1", got-started)
	}

	// 2. A stage the Dockerfile does not have: reported, nothing of the edit applied.
	e2etest.WriteFile(t, file, strings.Replace(base, "stage: client", "stage: no-such-stage", 1)+"  debounce_typo_free: 1\n")
	up.WaitLines(regexp.MustCompile(`^\[devloop\] devloop\.yaml:6:3: watch\.debounce_typo_free: unknown key`), 1, time.Minute)
	e2etest.WriteFile(t, file, "secrets: {token: {env: HOME}}\n"+strings.Replace(base, "stage: client", "stage: no-such-stage", 1)+"  ignore: [\"assets/**\"]\n")
	up.WaitLines(regexp.MustCompile(`targets\.client\.stage: stage "no-such-stage" not found`), 1, time.Minute)
	up.WaitLines(regexp.MustCompile(`^\[devloop\] devloop\.yaml not applied: the previous config keeps running$`), 2, time.Minute)

	// 3. Dockerfile.dockerignore appears: it is the ignore file now.
	started = up.Count(reStarted)
	e2etest.WriteFile(t, filepath.Join(dir, "Dockerfile.dockerignore"), "bin/\n.devloop/\ndata/\n")
	up.WaitLines(regexp.MustCompile(`^\[devloop\] reloaded Dockerfile\.dockerignore: applied the build context and watch rules; rebuilding client, server$`), 1, time.Minute)
	up.WaitLines(reOK, 4, 2*time.Minute)
	e2etest.WriteFile(t, filepath.Join(dir, "data", "d.txt"), "d2\n")
	e2etest.SetGreeting(t, dir, "hello 2")
	up.WaitLines(reOK, 5, 2*time.Minute)
	if got := up.Count(reStarted); got != started+2 {
		t.Errorf("builds started by the new ignore file, an excluded edit and a real one = %d, want 2", got-started)
	}
	if l := up.WaitLines(regexp.MustCompile(`^\[devloop\] build started #5: .*`), 1, time.Second)[0]; strings.Contains(l, "data/") {
		t.Errorf("a build after Dockerfile.dockerignore appeared lists data/: %s", l)
	}
}
