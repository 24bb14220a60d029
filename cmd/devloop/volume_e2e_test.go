//go:build e2e && unix

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// volumeDockerfile: app and tool share the build stage, whose RUN prints 60 lines
// before go build fails with two compiler errors; tree exports a directory of 120
// files, two of them executables.
const volumeDockerfile = `FROM golang:1.26-alpine AS build
WORKDIR /src
COPY . .
RUN for i in $(seq 1 60); do echo "building part $i"; done; go build -o /out/app .

FROM scratch AS app
COPY --from=build /out/app /

FROM scratch AS tool
COPY --from=build /out/app /tool

FROM alpine AS files
RUN mkdir -p /t/share /t/bin && for i in $(seq 1 118); do echo $i > /t/share/f$i; done \
 && echo a > /t/bin/a && echo b > /t/bin/b && chmod 755 /t/bin/a /t/bin/b

FROM scratch AS tree
COPY --from=files /t /
`

// TestOutputVolume: what devloop prints stays readable on real projects (issue 16
// §8): a step two targets share fails in one block naming both, its header shows
// the command once, the block shows the end of a long output, names the file with
// all of it and ends with the compiler's errors; an export of 120 files is counted,
// naming its executables; no zap lines.
func TestOutputVolume(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := writeProject(t, map[string]string{
		"Dockerfile":   volumeDockerfile,
		"go.mod":       "module example.com/volume\n\ngo 1.22\n",
		"main.go":      "package main\n\nfunc main() {\n\tundefinedOne()\n\tundefinedTwo()\n}\n",
		"devloop.yaml": "targets:\n  app: {output: out}\n  tool: {output: out}\n  tree: {output: tree}\n",
	})

	r := runDevloop(t, dir, "build", "--progress", "quiet")
	if r.Code != 1 {
		t.Fatalf("build: exit %d, want 1:\n%v", r.Code, r)
	}
	out := r.Stdout
	block := regexp.MustCompile(`(?m)^app, tool: build failed at \[build 4/4\] RUN for i in .*: exit code: 1$`)
	if n := len(block.FindAllString(out, -1)); n != 1 {
		t.Errorf("%d blocks naming app, tool, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "build failed at"); n != 1 {
		t.Errorf("%d failure blocks, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "go build -o /out/app ."); n != 1 {
		t.Errorf("the command appears %d times, want once:\n%s", n, out)
	}
	omitted := regexp.MustCompile(`(?m)^  … (\d+) lines above; the whole output: (\S+)$`).FindStringSubmatch(out)
	if omitted == nil {
		t.Fatalf("no line saying what was left out:\n%s", out)
	}
	logFile := omitted[2]
	if !filepath.IsAbs(logFile) {
		logFile = filepath.Join(dir, logFile)
	}
	all, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("the whole output: %v", err)
	}
	for _, want := range []string{"building part 1\n", "building part 60\n", "main.go:4:2: undefined: undefinedOne"} {
		if !strings.Contains(string(all), want) {
			t.Errorf("%s lacks %q:\n%s", logFile, want, all)
		}
	}
	if strings.Contains(out, "building part 1\n") {
		t.Errorf("the block shows the start of the output:\n%s", out)
	}
	ends := regexp.MustCompile(`(?m)^main\.go:4:2: undefined: undefinedOne\nmain\.go:5:2: undefined: undefinedTwo\n\[devloop\] build failed #1 `)
	if !ends.MatchString(out) {
		t.Errorf("the block does not end with the two compiler errors, right before the end line:\n%s", out)
	}
	if want := "tree: rebuilt in "; !strings.Contains(out, want) || !strings.Contains(out, " — updated 120 files (2 executables: tree/bin/a, tree/bin/b)\n") {
		t.Errorf("tree's line does not count its files:\n%s", out)
	}
	if regexp.MustCompile(`(?m)^(\S+\s+)?(WARN|INFO|DEBUG|ERROR)\t`).MatchString(r.Stdout + r.Stderr) {
		t.Errorf("zap lines in the output:\n%v", r)
	}
	t.Logf("%d bytes of output", len(out))
}

// TestCtrlCDuringRestart: Ctrl-C while a restart waits for the old process to stop is
// no failure (issue 16 §8: "restart failed: context canceled"). The process traps
// the stop signal and says so, which is when devloop is interrupted.
func TestCtrlCDuringRestart(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := writeProject(t, map[string]string{
		"Dockerfile": "FROM scratch AS out\nCOPY x.txt /\n",
		"x.txt":      "1\n",
		"devloop.yaml": `targets:
  out:
    stage: out
    output: out
    run:
      command: [sh, -c, "trap 'echo got the stop signal' TERM; echo running; while :; do sleep 0.1; done"]
      stop_timeout: 2s
watch:
  debounce: 50ms
`,
	})
	up := startUp(t, dir)
	up.WaitLines(regexp.MustCompile(`\| running$`), 1, 5*time.Minute)
	e2etest.WriteFile(t, filepath.Join(dir, "x.txt"), "2\n")
	up.WaitLines(regexp.MustCompile(`\| got the stop signal$`), 1, 2*time.Minute)
	if code := up.Stop(syscall.SIGINT, time.Minute); code != 0 {
		t.Errorf("devloop up exited %d after Ctrl-C", code)
	}
	out := up.Output()
	if regexp.MustCompile(`restart failed|context canceled|supervisor is`).MatchString(out) {
		t.Errorf("Ctrl-C during a restart reported as a failure:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\[devloop\] build cancelled #2 `).MatchString(out) {
		t.Errorf("build #2 not reported cancelled:\n%s", out)
	}
}
