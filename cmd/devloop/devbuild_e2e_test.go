//go:build e2e && unix

package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

// devShape is a Dockerfile written the way release-oriented projects write theirs
// (issue 17), in a small project of its own: module example.com/shop, whose server
// (cmd/server) imports two packages of its own. Every go build runs with -v, which
// prints the packages it compiles (not those it takes from the build cache).
type devShape struct {
	name       string
	dockerfile string
	files      map[string]string // more files of the project, mode 0755 (build.sh)
	// deps: the project requires example.com/words v1.0.0, served by a file://
	// GOPROXY in the context (proxy/): the module cache matters.
	deps bool
	// hostMake: the host's make and the libraries it loads are copied into the
	// context's make-root/ (the testbed's golang image has no make).
	hostMake bool
	// notices are the lines the dev build says at the first build, after "[devloop] ".
	notices []string
}

var devShapes = []devShape{
	{
		name: "download then build",
		dockerfile: `FROM golang:1.26-alpine AS build
WORKDIR /src
ENV GOSUMDB=off
COPY . .
RUN GOPROXY=file:///src/proxy go mod download
RUN GOPROXY=off CGO_ENABLED=0 go build -v -o /out/server ./cmd/server
FROM scratch AS server
COPY --from=build /out/server /server
`,
		deps: true,
		notices: []string{
			"Dockerfile:5: dev build adds go build/module cache mounts",
			"Dockerfile:6: dev build adds go build/module cache mounts",
		},
	},
	{
		name: "go build -a twice, -trimpath, -ldflags -X",
		dockerfile: `FROM golang:1.26-alpine AS build
WORKDIR /src
COPY . .
ARG VERSION=1.2.3
RUN CGO_ENABLED=0 go build -a -v -trimpath -ldflags "-X main.version=${VERSION}" -o /out/server ./cmd/server && \
    CGO_ENABLED=0 go build -a -v -trimpath -o /out/server-plain ./cmd/server
FROM scratch AS server
COPY --from=build /out/ /
`,
		notices: []string{"Dockerfile:5: dev build adds go build/module cache mounts, drops -a"},
	},
	{
		name: "a build script calling go build",
		dockerfile: `FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod ./
RUN go mod download
COPY . .
RUN ./build.sh
FROM scratch AS server
COPY --from=build /out/server /server
`,
		files: map[string]string{"build.sh": "#!/bin/sh\nset -e\nCGO_ENABLED=0 go build -v -o /out/server ./cmd/server\n"},
		notices: []string{
			"Dockerfile:4: dev build adds go build/module cache mounts",
			"Dockerfile:6: dev build adds go build/module cache mounts",
		},
	},
	{
		name: "RUN make build, a Makefile calling go build",
		dockerfile: `FROM golang:1.26-alpine AS build
COPY make-root/ /
WORKDIR /src
COPY go.mod ./
RUN go mod download
COPY . .
RUN make build
FROM scratch AS server
COPY --from=build /out/server /server
`,
		files:    map[string]string{"Makefile": "build:\n\tCGO_ENABLED=0 go build -v -o /out/server ./cmd/server\n"},
		hostMake: true,
		notices: []string{
			"Dockerfile:5: dev build adds go build/module cache mounts",
			"Dockerfile:7: dev build adds go build/module cache mounts",
		},
	},
	{
		name: "USER 1000 with its own HOME",
		dockerfile: `FROM golang:1.26-alpine AS build
RUN mkdir -p /home/app /out && chown 1000 /home/app /out
USER 1000
ENV HOME=/home/app
WORKDIR /home/app/src
COPY --chown=1000 . .
RUN CGO_ENABLED=0 go build -v -o /out/server ./cmd/server
FROM scratch AS server
COPY --from=build /out/server /server
`,
		notices: []string{
			"Dockerfile:2: dev build adds go build/module cache mounts",
			"Dockerfile:7: dev build adds go build/module cache mounts",
		},
	},
	{
		name: "its own GOCACHE, cgo left to the image",
		dockerfile: `FROM golang:1.26-alpine AS build
ENV GOCACHE=/cache/go-build
WORKDIR /src
COPY . .
RUN go build -v -o /out/server ./cmd/server
FROM scratch AS server
COPY --from=build /out/server /server
`,
		notices: []string{"Dockerfile:5: dev build adds go build/module cache mounts"},
	},
	{
		name: "cache mounts already: left alone",
		dockerfile: `FROM golang:1.26-alpine AS build
WORKDIR /src
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=bind,source=go.mod,target=go.mod go mod download
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build --mount=type=bind,target=. \
    CGO_ENABLED=0 go build -v -o /out/server ./cmd/server
FROM scratch AS server
COPY --from=build /out/server /server
`,
	},
}

// The project's packages, and what a build that recompiles everything compiles too.
const (
	serverPkg  = "example.com/shop/cmd/server"
	catalogPkg = "example.com/shop/internal/catalog"
	pricePkg   = "example.com/shop/internal/price"
)

func catalogGo(expr string) string {
	return "package catalog\n\nimport \"strings\"\n\n// Items lists what the shop sells.\nfunc Items() []string { return strings.Fields(" + expr + ") }\n"
}

func serverGo(banner string, deps bool) string {
	imp, use := "", "it"
	if deps {
		imp, use = "\n\t\"example.com/words\"", "words.Shout(it)"
	}
	return fmt.Sprintf(`package main

import (
	"fmt"

	"example.com/shop/internal/catalog"
	"example.com/shop/internal/price"%s
)

var version = "dev"

const banner = %q

func main() {
	fmt.Printf(banner+"\n", version)
	for _, it := range catalog.Items() {
		fmt.Println(%s, price.Format(120))
	}
}
`, imp, banner, use)
}

// banner is the server's banner in version v of the project in dir: unique to the
// test run, so that no build (nor the Go build cache it mounts) has seen the server's
// package before.
func banner(dir string, v int) string {
	return fmt.Sprintf("shop %%s (%s, v%d)", filepath.Base(filepath.Dir(dir)), v)
}

// shopProject writes sh's project: two targets of the server stage, server (the dev
// build) and server-written (dev_transform: false, the Dockerfile as written).
func shopProject(t *testing.T, sh devShape) string {
	t.Helper()
	dir := t.TempDir()
	gomod := "module example.com/shop\n\ngo 1.26\n"
	if sh.deps {
		gomod += "\nrequire example.com/words v1.0.0\n"
		e2etest.WriteFile(t, filepath.Join(dir, "go.sum"), fileProxy(t, filepath.Join(dir, "proxy")))
	}
	e2etest.WriteFile(t, filepath.Join(dir, "go.mod"), gomod)
	e2etest.WriteFile(t, filepath.Join(dir, "internal", "catalog", "catalog.go"), catalogGo(`"apple pear plum"`))
	e2etest.WriteFile(t, filepath.Join(dir, "internal", "price", "price.go"),
		"package price\n\nimport \"fmt\"\n\n// Format shows cents as a price.\nfunc Format(cents int) string { return fmt.Sprintf(\"%d.%02d\", cents/100, cents%100) }\n")
	e2etest.WriteFile(t, filepath.Join(dir, "cmd", "server", "main.go"), serverGo(banner(dir, 1), sh.deps))
	e2etest.WriteFile(t, filepath.Join(dir, "Dockerfile"), sh.dockerfile)
	for name, content := range sh.files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if sh.hostMake {
		copyHostMake(t, filepath.Join(dir, "make-root"))
	}
	e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), `targets:
  server:
    stage: server
    output: bin
  server-written:
    stage: server
    output: written
    dev_transform: false
`)
	return dir
}

// copyHostMake copies the host's make, and the shared libraries and loader ldd
// says it loads (none for a static make), into root at their host paths, for a Dockerfile to COPY to /.
func copyHostMake(t *testing.T, root string) {
	t.Helper()
	makePath, err := exec.LookPath("make")
	if err != nil {
		t.Fatalf("the make shape needs the host's make: %v", err)
	}
	// ldd fails for a static make: then make alone is all it needs.
	out, _ := exec.Command("ldd", makePath).Output()
	files := []string{makePath}
	for _, f := range strings.Fields(string(out)) {
		if filepath.IsAbs(f) {
			files = append(files, f)
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// fileProxy writes a module proxy (GOPROXY=file://…) serving example.com/words
// v1.0.0 into dir and returns the go.sum lines of the module.
func fileProxy(t *testing.T, dir string) string {
	t.Helper()
	src := t.TempDir()
	const gomod = "module example.com/words\n\ngo 1.26\n"
	e2etest.WriteFile(t, filepath.Join(src, "go.mod"), gomod)
	e2etest.WriteFile(t, filepath.Join(src, "words.go"), "package words\n\nimport \"strings\"\n\n// Shout upper-cases s.\nfunc Shout(s string) string { return strings.ToUpper(s) + \"!\" }\n")
	v := module.Version{Path: "example.com/words", Version: "v1.0.0"}
	at := filepath.Join(dir, "example.com", "words", "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	if err := modzip.CreateFromDir(&zbuf, v, src); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(at, "v1.0.0.zip")
	for name, content := range map[string][]byte{
		"list": []byte("v1.0.0\n"), "v1.0.0.info": []byte(`{"Version":"v1.0.0","Time":"2026-01-01T00:00:00Z"}`),
		"v1.0.0.mod": []byte(gomod), "v1.0.0.zip": zbuf.Bytes(),
	} {
		if err := os.WriteFile(filepath.Join(at, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	zipSum, err := dirhash.HashZip(zipPath, dirhash.Hash1)
	if err != nil {
		t.Fatal(err)
	}
	modSum, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(gomod)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zip.OpenReader(zipPath); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("example.com/words v1.0.0 %s\nexample.com/words v1.0.0/go.mod %s\n", zipSum, modSum)
}

// compiled lists the packages the go builds printed (go build -v), read from BuildKit's
// progress as --progress rawjson writes it (one SolveStatus per line) in lines.
func compiled(t *testing.T, lines []string) []string {
	t.Helper()
	var logs bytes.Buffer
	for _, l := range lines {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var ss struct {
			Logs []struct {
				Data []byte `json:"data"`
			} `json:"logs"`
		}
		if err := json.Unmarshal([]byte(l), &ss); err != nil {
			t.Fatalf("progress line %q: %v", l, err)
		}
		for _, vl := range ss.Logs {
			logs.Write(vl.Data)
		}
	}
	var out []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if l = strings.TrimSpace(l); l == "runtime" || l == "fmt" || strings.HasPrefix(l, "example.com/") && !strings.Contains(l, " ") {
			out = append(out, l)
		}
	}
	return out
}

func sha(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(data))
}

var devNotice = regexp.MustCompile(`^\[devloop\] (Dockerfile:\d+: dev build .*)$`)

// TestDevBuild: on Dockerfiles in the shapes of issue 17, devloop up's dev build
// rebuilds a one-line change without recompiling the packages it did not change, says
// once what it changed and how to turn it off, maps a compiler error to the host
// file, and exports the very binary the Dockerfile as written exports
// (dev_transform: false, which recompiles everything as before).
func TestDevBuild(t *testing.T) {
	e2etest.RequireBuildKit(t)
	// The host's go list (which targets a change affects) must not fetch
	// example.com/words from the network.
	env := []string{"GOPROXY=off"}
	for _, sh := range devShapes {
		t.Run(sh.name, func(t *testing.T) {
			dir := shopProject(t, sh)
			up := e2etest.StartUp(t, devloopBin, dir, env, "--progress", "rawjson", "server")
			up.WaitFirstBuild(10 * time.Minute)

			var notices []string
			ms, _ := up.Matches(devNotice, 0)
			for _, m := range ms {
				notices = append(notices, m[1])
			}
			if !slices.Equal(notices, sh.notices) {
				t.Errorf("dev build notices =\n%s\nwant\n%s", strings.Join(notices, "\n"), strings.Join(sh.notices, "\n"))
			}
			howto := strings.Contains(up.Output(), "dev_transform: false in devloop.yaml (project-wide or per target) builds it as written")
			if howto != (len(sh.notices) > 0) {
				t.Errorf("says how to turn the dev build off: %v, want %v", howto, len(sh.notices) > 0)
			}
			if warned := strings.Contains(up.Output(), "[devloop] warning: Dockerfile:"); warned && !strings.Contains(up.Output(), "for your own docker build") {
				t.Errorf("the cache mount warning is not advice for the user's own docker build:\n%s", up.Output())
			}

			// A one-line change in the server: only the server's package compiles.
			from := up.Len()
			e2etest.WriteFile(t, filepath.Join(dir, "cmd", "server", "main.go"), serverGo(banner(dir, 2), sh.deps))
			_, m := up.WaitLine(e2etest.BuildFinished, from, 5*time.Minute)
			if m[1] != "ok" {
				t.Fatalf("build after a change in the server: %s", m[0])
			}
			if got := compiled(t, up.Since(from)); !slices.Equal(got, []string{serverPkg}) && !slices.Equal(got, []string{serverPkg, serverPkg}) {
				t.Errorf("the rebuild compiled %v, want only %s:\n%s", got, serverPkg, strings.Join(up.Since(from), "\n"))
			}

			// A compiler error points at the host file.
			from = up.Len()
			e2etest.WriteFile(t, filepath.Join(dir, "internal", "catalog", "catalog.go"), catalogGo("stock"))
			_, m = up.WaitLine(e2etest.BuildFinished, from, 5*time.Minute)
			if m[1] != "failed" {
				t.Fatalf("build with a compiler error: %s", m[0])
			}
			located := regexp.MustCompile(`^internal/catalog/catalog\.go:6:\d+: undefined: stock`)
			if ms, _ := up.Matches(located, from); len(ms) == 0 {
				t.Errorf("no host location of the compiler error (want internal/catalog/catalog.go:6:…) in:\n%s", strings.Join(up.Since(from), "\n"))
			}
			from = up.Len()
			e2etest.WriteFile(t, filepath.Join(dir, "internal", "catalog", "catalog.go"), catalogGo(`"apple pear"`))
			if _, m = up.WaitLine(e2etest.BuildFinished, from, 5*time.Minute); m[1] != "ok" {
				t.Fatalf("build after the fix: %s", m[0])
			}
			if got := up.Count(devNotice); got != len(sh.notices) {
				t.Errorf("%d dev build notices after four builds, want each said once (%d)", got, len(sh.notices))
			}
			if code := up.Stop(syscall.SIGINT, time.Minute); code != 0 {
				t.Errorf("devloop up exited %d", code)
			}

			// The Dockerfile as written, from the same source: the same binary, every
			// package compiled, nothing said of a dev build.
			r := runDevloop(t, dir, "build", "--progress", "rawjson", "server-written")
			if r.Code != 0 {
				t.Fatalf("devloop build server-written: %v", r)
			}
			if strings.Contains(r.Stderr+r.Stdout, "dev build") {
				t.Errorf("the target with dev_transform: false mentions a dev build:\n%s", r)
			}
			if len(sh.notices) > 0 && !slices.Contains(compiled(t, strings.Split(r.Stderr+r.Stdout, "\n")), "runtime") {
				t.Errorf("the Dockerfile as written did not compile everything (want runtime among the packages compiled):\n%s", r)
			}
			bins := []string{"server"}
			if strings.Contains(sh.dockerfile, "server-plain") {
				bins = append(bins, "server-plain")
			}
			for _, b := range bins {
				if got, want := sha(t, filepath.Join(dir, "bin", b)), sha(t, filepath.Join(dir, "written", b)); got != want {
					t.Errorf("%s: the dev build's binary (sha256 %s) differs from the Dockerfile's as written (%s)", b, got, want)
				}
			}
		})
	}
}

// TestDevTransformOff: dev_transform: false builds the Dockerfile as written, as
// before (every change recompiles everything, nothing said of a dev build, the cache
// mount warning as plain advice); editing devloop.yaml to turn it on while up runs
// rebuilds with the dev build, and the next change compiles only what changed.
func TestDevTransformOff(t *testing.T) {
	e2etest.RequireBuildKit(t)
	sh := devShapes[1] // go build -a twice
	dir := shopProject(t, sh)
	yaml := "targets:\n  server:\n    stage: server\n    output: bin\n"
	e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), "dev_transform: false\n"+yaml)
	up := e2etest.StartUp(t, devloopBin, dir, []string{"GOPROXY=off"}, "--progress", "rawjson", "server")
	up.WaitFirstBuild(10 * time.Minute)

	from := up.Len()
	e2etest.WriteFile(t, filepath.Join(dir, "cmd", "server", "main.go"), serverGo(banner(dir, 2), false))
	if _, m := up.WaitLine(e2etest.BuildFinished, from, 5*time.Minute); m[1] != "ok" {
		t.Fatalf("build after a change: %s", m[0])
	}
	if got := compiled(t, up.Since(from)); !slices.Contains(got, "runtime") || !slices.Contains(got, catalogPkg) {
		t.Errorf("with dev_transform: false the rebuild compiled %v, want everything again (runtime, %s)", got, catalogPkg)
	}
	out := up.Output()
	if strings.Contains(out, "dev build") || !strings.Contains(out, "to that RUN instruction\n") {
		t.Errorf("with dev_transform: false devloop mentions a dev build, or the warning is not the plain advice:\n%s", out)
	}

	// Turned on while up runs: the reload rebuilds the server with the dev build.
	from = up.Len()
	e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), yaml)
	if _, m := up.WaitLine(e2etest.BuildFinished, from, 5*time.Minute); m[1] != "ok" {
		t.Fatalf("build after turning the dev build on: %s", m[0])
	}
	if ms, _ := up.Matches(devNotice, from); len(ms) != len(sh.notices) {
		t.Errorf("after turning the dev build on: %d notices, want %d:\n%s", len(ms), len(sh.notices), strings.Join(up.Since(from), "\n"))
	}
	up.WaitQuiet(from, time.Second, time.Minute)
	from = up.Len()
	e2etest.WriteFile(t, filepath.Join(dir, "cmd", "server", "main.go"), serverGo(banner(dir, 3), false))
	if _, m := up.WaitLine(e2etest.BuildFinished, from, 5*time.Minute); m[1] != "ok" {
		t.Fatalf("build after a change with the dev build: %s", m[0])
	}
	if got := compiled(t, up.Since(from)); slices.Contains(got, "runtime") || slices.Contains(got, catalogPkg) || !slices.Contains(got, serverPkg) {
		t.Errorf("with the dev build the rebuild compiled %v, want only %s", got, serverPkg)
	}
}
