//go:build e2e && unix

package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// pinsDockerfile: out's chain pulls alpine through an ARG-templated FROM; broken's
// chain also copies from an image nothing can resolve (a registry on a loopback port
// nobody listens on); a stage no target needs names another such image.
const pinsDockerfile = `ARG BASE_TAG
FROM alpine:${BASE_TAG} AS base
COPY x.txt /x

FROM scratch AS out
COPY --from=base /x /

FROM 127.0.0.1:1/private/runtime:1 AS unused
RUN true

FROM base AS bad
COPY --from=127.0.0.1:1/private/tool:1 /tool /tool

FROM scratch AS broken
COPY --from=bad /x /
`

// TestPinsPerTargetChain: `devloop up` pins what the targets' stage chains pull, after
// ARG expansion with the build args, and says once what it cannot pin, in a human line
// (issue 16 §7: every stage's image was resolved, one unresolvable image disabled
// pinning entirely, ARG-templated FROMs were never pinned, and a zap WARN repeated on
// every build, once per target).
func TestPinsPerTargetChain(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := writeProject(t, map[string]string{
		"Dockerfile": pinsDockerfile,
		"x.txt":      "1\n",
		"devloop.yaml": `build_args: {BASE_TAG: latest}
targets:
  out: {stage: out, output: out}
  broken1: {stage: broken, output: out1}
  broken2: {stage: broken, output: out2}
watch:
  debounce: 50ms
`,
	})
	up := startUp(t, dir)
	reEnd := regexp.MustCompile(`^\[devloop\] build (ok|failed) #(\d+)`)
	up.WaitLines(reEnd, 1, 5*time.Minute)
	e2etest.WriteFile(t, filepath.Join(dir, "x.txt"), "2\n")
	up.WaitLines(reEnd, 2, 2*time.Minute)
	if code := up.Stop(syscall.SIGINT, time.Minute); code != 0 {
		t.Errorf("devloop up exited %d after Ctrl-C", code)
	}
	out := up.Output()
	for _, tt := range []struct {
		what string
		re   string
		want int
	}{
		{"the ARG-templated base pinned once", `(?m)^\[devloop\] pinned docker\.io/library/alpine:latest@sha256:[0-9a-f]{64} for this session$`, 1},
		{"the unresolvable image said once", `(?m)^\[devloop\] cannot pin 127\.0\.0\.1:1/private/tool:1 for this session \(.+\): builds resolve it from the registry$`, 1},
		{"the unused stage's image never resolved", `private/runtime`, 0},
		{"no zap lines", `(?m)^(\S+\s+)?(WARN|INFO|DEBUG|ERROR)\t`, 0},
		{"out built twice", `(?m)^out: (rebuilt|unchanged) in `, 2},
	} {
		if n := len(regexp.MustCompile(tt.re).FindAllString(out, -1)); n != tt.want {
			t.Errorf("%s: %q matches %d lines, want %d", tt.what, tt.re, n, tt.want)
		}
	}
	if t.Failed() {
		t.Logf("devloop up output:\n%s", strings.TrimSpace(out))
	}
}
