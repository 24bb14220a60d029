//go:build e2e && unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// The export stages of real projects (issue 16 §1, §2), each in a small project of
// our own: `devloop init` proposes a target for it, and `devloop build` builds it
// with the proposal as written, the executable landing where init said.

// echoMain is a program that prints its greeting, or with -addr serves it.
const echoMain = `package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
)

func main() {
	addr := flag.String("addr", "", "serve on this address")
	flag.Parse()
	if *addr == "" {
		fmt.Println("echo v1")
		return
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "echo v1") })
	if err := http.ListenAndServe(*addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
`

// echoBuilder is the build stage the cases share: the executable at /out/echo.
const echoBuilder = `FROM golang:1.26-alpine AS builder
WORKDIR /src
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=bind,target=. \
    mkdir -p /out && go build -o /out/echo ./cmd/echo
`

// echoProject writes the echo module and dockerfile into a new directory.
func echoProject(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	e2etest.WriteFile(t, filepath.Join(dir, "go.mod"), "module example.com/echo\n\ngo 1.26\n")
	e2etest.WriteFile(t, filepath.Join(dir, "cmd", "echo", "main.go"), echoMain)
	e2etest.WriteFile(t, filepath.Join(dir, "Dockerfile"), dockerfile)
	return dir
}

func TestInitThenBuild(t *testing.T) {
	e2etest.RequireBuildKit(t)
	tests := []struct {
		name       string
		dockerfile string
		yaml       string   // what init must have written, in part
		exe        string   // where the executable lands, relative to the project
		absent     []string // what must not appear in the project root
	}{
		{name: "a bare FROM scratch at the end",
			dockerfile: echoBuilder + "FROM scratch\nCOPY --from=builder /out/echo /\nENTRYPOINT [\"/echo\"]\n",
			yaml:       "  echo:\n    stage: stage-1 ", exe: "bin/echo"},
		{name: "a directory copied without a slash lands its contents",
			dockerfile: echoBuilder + "FROM scratch AS release\nCOPY --from=builder /out /\n",
			yaml:       "    output: bin                  # → ./bin/echo\n", exe: "bin/echo", absent: []string{"bin/out"}},
		{name: "a directory copied with one",
			dockerfile: echoBuilder + "FROM scratch AS release\nCOPY --from=builder /out/ /\n",
			yaml:       "  release:\n    stage: release\n", exe: "bin/echo"},
		{name: "a wildcard",
			dockerfile: echoBuilder + "FROM scratch AS release\nCOPY --from=builder /out/ech* /\n",
			yaml:       "  release:\n    stage: release\n", exe: "bin/echo"},
		{name: "a file in /usr/bin and a WORKDIR keep to a directory of their own",
			dockerfile: echoBuilder + "FROM scratch AS svc\nCOPY --from=builder /out/echo /usr/bin/echo\nWORKDIR /tmp\n",
			yaml:       "    output: out/svc              # → ./out/svc/usr/bin/echo, and an empty ./out/svc/tmp\n",
			exe:        "out/svc/usr/bin/echo", absent: []string{"usr", "tmp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := echoProject(t, tt.dockerfile)
			if r := runDevloop(t, dir, "init"); r.Code != 0 {
				t.Fatalf("init: %v", r)
			}
			data, err := os.ReadFile(filepath.Join(dir, "devloop.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(squeeze(string(data)), squeeze(tt.yaml)) {
				t.Errorf("devloop.yaml lacks %q:\n%s", tt.yaml, data)
			}
			if r := runDevloop(t, dir, "build", "--progress", "quiet"); r.Code != 0 {
				t.Fatalf("build with init's devloop.yaml: %v\n%s", r, data)
			}
			if got := output(t, filepath.Join(dir, filepath.FromSlash(tt.exe))); got != "echo v1" {
				t.Errorf("%s prints %q, want %q", tt.exe, got, "echo v1")
			}
			for _, a := range tt.absent {
				if _, err := os.Lstat(filepath.Join(dir, a)); err == nil {
					t.Errorf("the build created %s in the project", a)
				}
			}
		})
	}
}

// squeeze collapses runs of spaces, so that a check does not depend on how init
// aligns its comments.
func squeeze(s string) string { return regexp.MustCompile(` +`).ReplaceAllString(s, " ") }

// TestInitThenUp: the run: init proposes from the image's ENTRYPOINT, CMD and
// EXPOSE runs the server, and its ready: is met.
func TestInitThenUp(t *testing.T) {
	e2etest.RequireBuildKit(t)
	port := e2etest.FreePort(t)
	dir := echoProject(t, echoBuilder+fmt.Sprintf("FROM scratch\nCOPY --from=builder /out/echo /usr/local/bin/\nEXPOSE %d\nENTRYPOINT [\"echo\"]\nCMD [\"-addr\", \"127.0.0.1:%d\"]\n", port, port))
	if r := runDevloop(t, dir, "init"); r.Code != 0 {
		t.Fatalf("init: %v", r)
	}
	data, err := os.ReadFile(filepath.Join(dir, "devloop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("      command: [out/echo/usr/local/bin/echo, -addr, \"127.0.0.1:%d\"] # from ENTRYPOINT and CMD of stage-1 (line 6)\n      ready: tcp://127.0.0.1:%d", port, port)
	if !strings.Contains(squeeze(string(data)), squeeze(want)) {
		t.Fatalf("devloop.yaml lacks %q:\n%s", want, data)
	}
	up := startUp(t, dir)
	up.WaitLines(regexp.MustCompile(`^echo: ready`), 1, 5*time.Minute)
	e2etest.WaitServes(t, fmt.Sprintf("http://127.0.0.1:%d/", port), "echo v1", time.Minute)
}

// TestBuildStageOmitted: a devloop.yaml written by hand names the last, unnamed
// stage by leaving stage out or as stage-N; a target named like a stage still
// builds that stage.
func TestBuildStageOmitted(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := echoProject(t, echoBuilder+"FROM scratch AS named\nCOPY --from=builder /out/echo /named\nFROM scratch\nCOPY --from=builder /out/echo /last\n")
	e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"),
		"targets:\n  app: {output: a}\n  byindex: {stage: stage-2, output: b}\n  named: {output: c}\n")
	if r := runDevloop(t, dir, "build", "--progress", "quiet"); r.Code != 0 {
		t.Fatalf("build: %v", r)
	}
	for _, exe := range []string{"a/last", "b/last", "c/named"} {
		if got := output(t, filepath.Join(dir, filepath.FromSlash(exe))); got != "echo v1" {
			t.Errorf("%s prints %q, want %q", exe, got, "echo v1")
		}
	}
	for _, extra := range []string{"a/named", "c/last"} {
		if _, err := os.Lstat(filepath.Join(dir, extra)); err == nil {
			t.Errorf("%s exists: the target built the wrong stage", extra)
		}
	}
}
