//go:build e2e && unix

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// The end-to-end tests of issue 15: each target is sent only the context its build
// reads, and a change to any file it reads still rebuilds it — an embedded file, a
// file only a COPY names, a _linux.go file behind a build constraint, a package a
// later edit starts importing (existing, or created in the same save).

// narrowFiles is a Go project whose server prints banner|os|extra: the banner is
// embedded, os comes from a _linux.go file, extra from a package main imports only
// after an edit. The image also gets config/motd.txt, which only a COPY names.
// assets/ holds 2,000 files (2 MB) no build reads.
func narrowFiles() map[string]string {
	files := map[string]string{
		"go.mod":                 "module example.com/nar\n\ngo 1.26\n",
		"cmd/server/main.go":     narrowMain(""),
		"cmd/server/banner.txt":  "banner v1\n",
		"cmd/server/os_linux.go": "package main\n\nfunc init() { osText = \"linux v1\" }\n",
		"cmd/server/os_other.go": "//go:build !linux\n\npackage main\n\nfunc init() { osText = \"not linux\" }\n",
		"internal/extra/extra.go": "package extra\n\n// Text is what the server shows once it imports this package.\n" +
			"const Text = \"extra v1\"\n",
		"config/motd.txt": "motd v1\n",
		"Dockerfile": `FROM golang:1.26-alpine AS base
WORKDIR /src
ENV CGO_ENABLED=0

FROM base AS build
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    go build -o /bin/server ./cmd/server

FROM scratch AS server
COPY --from=build /bin/server /bin/
COPY config/motd.txt /bin/motd.txt
`,
	}
	for i := range 2000 {
		files[fmt.Sprintf("assets/d%02d/f%03d.txt", i/100, i%100)] = strings.Repeat("a", 1000) + "\n"
	}
	return files
}

// narrowMain is the server's main.go; with pkg set ("extra", "fresh") it imports
// internal/pkg and shows its Text.
func narrowMain(pkg string) string {
	imp, use := "", ""
	if pkg != "" {
		imp = fmt.Sprintf("\n\t\"example.com/nar/internal/%s\"", pkg)
		use = fmt.Sprintf("\nfunc init() { extraText = %s.Text }\n", pkg)
	}
	return `package main

import (
	_ "embed"
	"fmt"
	"strings"` + imp + `
)

//go:embed banner.txt
var banner string

var osText, extraText = "", "no extra"
` + use + `
func main() { fmt.Println(strings.TrimSpace(banner) + "|" + osText + "|" + extraText) }
`
}

const narrowYAML = `targets:
  server:
    stage: server
    output: .
watch:
  debounce: 50ms
  on_busy: queue
`

func writeNarrowProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := narrowFiles()
	files["devloop.yaml"] = narrowYAML
	writeTree(t, dir, files)
	return dir
}

// writeTree writes files (relative paths → content) into dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		e2etest.WriteFile(t, filepath.Join(dir, name), content)
	}
}

// readTrimmed returns a file's content without surrounding white space, "" if it
// cannot be read (not yet exported).
func readTrimmed(name string) string {
	b, _ := os.ReadFile(name)
	return strings.TrimSpace(string(b))
}

// reTransfer matches BuildKit's progress line for a context transfer.
var reTransfer = regexp.MustCompile(`transferring context: ([0-9.]+)([kMG]?B)`)

// largestTransfer returns the largest context transfer in lines, in bytes.
func largestTransfer(lines []string) float64 {
	largest := 0.0
	for _, l := range lines {
		m := reTransfer.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		v *= map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[m[2]]
		largest = max(largest, v)
	}
	return largest
}

func TestUpNarrowedContext(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := writeNarrowProject(t)
	server := filepath.Join(dir, "bin", "server")
	motd := filepath.Join(dir, "bin", "motd.txt")
	up := startUp(t, dir, "--progress", "plain")
	up.WaitFirstBuild(5 * time.Minute)
	if got, want := output(t, server), "banner v1|linux v1|no extra"; got != want {
		t.Fatalf("first build: bin/server prints %q, want %q", got, want)
	}
	if sent := largestTransfer(up.Since(0)); sent > 200e3 {
		t.Errorf("the first build sent a context of %.0f bytes: the 2 MB of assets/ were not left out", sent)
	}

	steps := []struct {
		name   string
		files  map[string]string
		file   string // what to check: bin/server's output by default
		want   string
		noPass bool // the save must not reach the server
	}{
		{name: "an embedded file", files: map[string]string{"cmd/server/banner.txt": "banner v2\n"},
			want: "banner v2|linux v1|no extra"},
		{name: "a _linux.go file", files: map[string]string{"cmd/server/os_linux.go": "package main\n\nfunc init() { osText = \"linux v2\" }\n"},
			want: "banner v2|linux v2|no extra"},
		{name: "a file only a COPY names", files: map[string]string{"config/motd.txt": "motd v2\n"},
			file: motd, want: "motd v2"},
		{name: "a package main starts importing", files: map[string]string{"cmd/server/main.go": narrowMain("extra")},
			want: "banner v2|linux v2|extra v1"},
		{name: "the package it now imports", files: map[string]string{"internal/extra/extra.go": "package extra\n\nconst Text = \"extra v2\"\n"},
			want: "banner v2|linux v2|extra v2"},
		{name: "a new package created and imported in one save", files: map[string]string{
			"internal/fresh/fresh.go": "package fresh\n\nconst Text = \"fresh v1\"\n",
			"cmd/server/main.go":      narrowMain("fresh"),
		}, want: "banner v2|linux v2|fresh v1"},
		{name: "a file no build reads", files: map[string]string{"assets/d07/f042.txt": "changed\n"},
			want: "banner v2|linux v2|fresh v1", noPass: true},
	}
	for _, s := range steps {
		from := up.Len()
		for _, name := range []string{"internal/fresh/fresh.go", "cmd/server/main.go"} { // new package first
			if content, ok := s.files[name]; ok {
				e2etest.WriteFile(t, filepath.Join(dir, name), content)
			}
		}
		for name, content := range s.files {
			if name != "internal/fresh/fresh.go" && name != "cmd/server/main.go" {
				e2etest.WriteFile(t, filepath.Join(dir, name), content)
			}
		}
		if s.noPass {
			up.WaitLine(regexp.MustCompile(`^\[devloop\] no target depends on`), from, time.Minute)
			continue
		}
		check := func() string {
			if s.file != "" {
				return readTrimmed(s.file)
			}
			return output(t, server)
		}
		e2etest.Eventually(t, 3*time.Minute, 100*time.Millisecond, func() (bool, string) {
			got := check()
			return got == s.want, fmt.Sprintf("%s: got %q, want %q", s.name, got, s.want)
		})
		if n := up.Count(reFailed); n > 0 {
			t.Fatalf("%s: %d builds failed:\n%s", s.name, n, strings.Join(up.Since(from), "\n"))
		}
	}
	if sent := largestTransfer(up.Since(0)); sent > 200e3 {
		t.Errorf("a build sent a context of %.0f bytes: the 2 MB of assets/ were not left out", sent)
	}
}

// TestBuildNarrowedSameBinary: a target built from its narrowed context and from the
// whole context gets byte-identical files.
func TestBuildNarrowedSameBinary(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := writeNarrowProject(t)
	digest := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "bin", name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:])
	}
	narrowed := runDevloop(t, dir, "build", "--progress", "plain")
	if narrowed.Code != 0 {
		t.Fatalf("narrowed build: %v", narrowed)
	}
	server, motd := digest("server"), digest("motd.txt")
	whole := runDevloop(t, dir, "build", "--progress", "plain", "--narrow-context=false")
	if whole.Code != 0 {
		t.Fatalf("whole-context build: %v", whole)
	}
	if n, w := largestTransfer(strings.Split(narrowed.Stderr, "\n")), largestTransfer(strings.Split(whole.Stderr, "\n")); n > 200e3 || w < 1e6 {
		t.Errorf("context sent: narrowed %.0f bytes, whole %.0f bytes; want under 200 kB and over 1 MB", n, w)
	}
	if !strings.Contains(whole.Stdout, "server: unchanged") {
		t.Errorf("the whole-context build changed the output:\n%s", whole.Stdout)
	}
	if digest("server") != server || digest("motd.txt") != motd {
		t.Errorf("bin/server or bin/motd.txt differ between the narrowed and the whole-context build")
	}
}

// TestBuildNarrowedWholeSolve: a target is attributed the packages of the
// executable it exports, but its narrowed context must hold what every step of the
// solve reads: the other go build of the same RUN and a COPY into the build stage
// that the target does not export. Both must be found, or the solve fails.
func TestBuildNarrowedWholeSolve(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":             "module example.com/sol\n\ngo 1.26\n",
		"cmd/server/main.go": "package main\n\nfunc main() { println(\"server\") }\n",
		"cmd/client/main.go": "package main\n\nfunc main() { println(\"client\") }\n",
		"config/app.yaml":    "a: 1\n",
		"Dockerfile": `FROM golang:1.26-alpine AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY . .
COPY config/app.yaml /etc/app.yaml
RUN go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client
FROM scratch AS server
COPY --from=build /out/server /
`,
		"devloop.yaml": "targets:\n  server:\n    stage: server\n    output: bin\n",
	}
	for i := range 500 {
		files[fmt.Sprintf("assets/f%03d.txt", i)] = strings.Repeat("a", 1000) + "\n"
	}
	writeTree(t, dir, files)
	r := runDevloop(t, dir, "build", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("narrowed build of a stage that builds two executables: %v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "bin", "server")); err != nil {
		t.Errorf("bin/server not exported: %v", err)
	}
	if n := largestTransfer(strings.Split(r.Stderr, "\n")); n > 200e3 {
		t.Errorf("context sent: %.0f bytes, want under 200 kB (assets/ holds 500 kB no step reads)", n)
	}
}

// TestUpOnlyTarget: a target whose build devloop cannot follow (a shell script reads
// the context) is sent what targets.NAME.only lists, and only changes there rebuild
// it.
func TestUpOnlyTarget(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := t.TempDir()
	files := map[string]string{
		"web/index.html": "index v1\n",
		"web/css/a.css":  "css v1\n",
		"Dockerfile": `FROM golang:1.26-alpine AS pages
RUN --mount=type=bind,target=/ctx sh -c 'mkdir -p /out && cat /ctx/web/index.html /ctx/web/css/*.css > /out/site.txt'

FROM scratch AS site
COPY --from=pages /out/site.txt /
`,
		"devloop.yaml": "targets:\n  site:\n    stage: site\n    output: out\n    only: [web]\nwatch:\n  debounce: 50ms\n  on_busy: queue\n",
	}
	for i := range 1000 {
		files[fmt.Sprintf("assets/f%04d.txt", i)] = strings.Repeat("a", 1000) + "\n"
	}
	writeTree(t, dir, files)
	site := filepath.Join(dir, "out", "site.txt")
	read := func() string { return readTrimmed(site) }
	up := startUp(t, dir, "--progress", "plain")
	up.WaitFirstBuild(5 * time.Minute)
	if got := read(); got != "index v1\ncss v1" {
		t.Fatalf("out/site.txt = %q after the first build", got)
	}
	if strings.Contains(up.Output(), "inputs unknown") {
		t.Errorf("a target with only: is reported with unknown inputs:\n%s", up.Output())
	}
	e2etest.WriteFile(t, filepath.Join(dir, "web", "css", "b.css"), "css b\n")
	e2etest.Eventually(t, 2*time.Minute, 100*time.Millisecond, func() (bool, string) {
		got := read()
		return got == "index v1\ncss v1\ncss b", fmt.Sprintf("out/site.txt = %q", got)
	})
	from := up.Len()
	e2etest.WriteFile(t, filepath.Join(dir, "assets", "f0001.txt"), "changed\n")
	up.WaitLine(regexp.MustCompile(`^\[devloop\] no target depends on`), from, time.Minute)
	if sent := largestTransfer(up.Since(0)); sent > 100e3 {
		t.Errorf("a build sent a context of %.0f bytes: assets/ was not left out", sent)
	}
}

// TestUpContextCache: a target whose inputs devloop cannot know is sent the whole
// context, listed from what the watcher vouches for; every change reaches the build —
// also one the watcher does not report (a watch-ignored file that a "!" line of
// .dockerignore sends, a mode change), seen by the next build that a change elsewhere
// starts — and so do a new directory and a removed file.
func TestUpContextCache(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := t.TempDir()
	files := map[string]string{
		"data/a.txt":    "a1\n",
		"data/b.txt":    "b1\n",
		"docs/notes.md": "notes1\n",
		"trigger.txt":   "t1\n",
		".dockerignore": "!docs/notes.md\n", // watch.ignore keeps it out of the context too
		"Dockerfile": `FROM golang:1.26-alpine AS all
RUN --mount=type=bind,target=/ctx sh -c 'mkdir -p /out && cd /ctx && (cat docs/notes.md trigger.txt; find data -type f | sort | while read f; do echo "$f $(stat -c %a $f) $(cat $f)"; done) > /out/all.txt'

FROM scratch AS out
COPY --from=all /out/all.txt /
`,
		"devloop.yaml": "targets:\n  all:\n    stage: out\n    output: out\nwatch:\n  ignore: [\"**/*.md\"]\n  debounce: 50ms\n  on_busy: queue\n",
	}
	writeTree(t, dir, files)
	all := filepath.Join(dir, "out", "all.txt")
	read := func() string { return readTrimmed(all) }
	// inPlace writes like an editor that keeps the inode: one event, in the file's
	// directory only.
	inPlace := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	up := startUp(t, dir)
	up.WaitFirstBuild(5 * time.Minute)
	if got, want := read(), "notes1\nt1\ndata/a.txt 644 a1\ndata/b.txt 644 b1"; got != want {
		t.Fatalf("out/all.txt = %q after the first build, want %q", got, want)
	}
	steps := []struct {
		name   string
		change func()
		want   string
	}{
		{"a watch-ignored file, then another one", func() {
			inPlace("docs/notes.md", "notes2\n")
			inPlace("trigger.txt", "t2\n")
		}, "notes2\nt2\ndata/a.txt 644 a1\ndata/b.txt 644 b1"},
		{"a new directory", func() {
			e2etest.WriteFile(t, filepath.Join(dir, "data", "new", "c.txt"), "c1\n")
		}, "notes2\nt2\ndata/a.txt 644 a1\ndata/b.txt 644 b1\ndata/new/c.txt 644 c1"},
		{"a removed file", func() {
			if err := os.Remove(filepath.Join(dir, "data", "b.txt")); err != nil {
				t.Fatal(err)
			}
		}, "notes2\nt2\ndata/a.txt 644 a1\ndata/new/c.txt 644 c1"},
		{"a mode change, then a change elsewhere", func() {
			if err := os.Chmod(filepath.Join(dir, "data", "a.txt"), 0o600); err != nil {
				t.Fatal(err)
			}
			inPlace("trigger.txt", "t3\n")
		}, "notes2\nt3\ndata/a.txt 600 a1\ndata/new/c.txt 644 c1"},
	}
	for _, s := range steps {
		s.change()
		e2etest.Eventually(t, 2*time.Minute, 100*time.Millisecond, func() (bool, string) {
			got := read()
			return got == s.want, fmt.Sprintf("%s: out/all.txt = %q, want %q", s.name, got, s.want)
		})
	}
}
