//go:build e2e

package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/devloop/devloop/internal/e2etest"
)

// vscodeTasks is the part of docs/editors/vscode/tasks.json the test applies.
type vscodeTasks struct {
	Tasks []struct {
		Label          string `json:"label"`
		ProblemMatcher struct {
			Pattern struct {
				Regexp  string `json:"regexp"`
				File    int    `json:"file"`
				Line    int    `json:"line"`
				Column  int    `json:"column"`
				Message int    `json:"message"`
			} `json:"pattern"`
			Background *struct {
				BeginsPattern string `json:"beginsPattern"`
				EndsPattern   string `json:"endsPattern"`
			} `json:"background"`
		} `json:"problemMatcher"`
	} `json:"tasks"`
}

func loadTasks(t *testing.T) vscodeTasks {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "docs", "editors", "vscode", "tasks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tasks vscodeTasks
	if err := json.Unmarshal(data, &tasks); err != nil {
		t.Fatalf("parse tasks.json: %v", err)
	}
	if len(tasks.Tasks) != 2 {
		t.Fatalf("tasks.json has %d tasks, want 2 (devloop up, devloop build)", len(tasks.Tasks))
	}
	return tasks
}

// TestVSCodeProblemMatcher applies the problem matchers of docs/editors/vscode/tasks.json
// to the real output of a deliberately broken example build, run from the parent of the
// project (so container paths must really be mapped to host paths), and checks that
// file, line and column point at the broken line of the host file.
func TestVSCodeProblemMatcher(t *testing.T) {
	e2etest.RequireBuildKit(t)
	tasks := loadTasks(t)

	proj := e2etest.ExampleProject(t, exampleYAML)
	handler := filepath.Join(proj, "cmd", "server", "handler.go")
	src, err := os.ReadFile(handler)
	if err != nil {
		t.Fatal(err)
	}
	// Break one line; remember which.
	lines := strings.Split(string(src), "\n")
	broken := -1
	for i, l := range lines {
		if strings.Contains(l, "return mux") {
			lines[i] = strings.Replace(l, "return mux", "return mux +", 1)
			broken = i + 1
		}
	}
	e2etest.WriteFile(t, handler, strings.Join(lines, "\n"))

	workspace := filepath.Dir(proj)
	r := runDevloop(t, workspace, "build", "--progress", "quiet", "-f", filepath.Join(filepath.Base(proj), "devloop.yaml"))
	if r.Code != 1 {
		t.Fatalf("broken build: exit %d, want 1\n%v", r.Code, r)
	}
	out := r.Stdout

	for _, task := range tasks.Tasks {
		t.Run(task.Label, func(t *testing.T) {
			pm := task.ProblemMatcher
			re, err := regexp.Compile(pm.Pattern.Regexp)
			if err != nil {
				t.Fatalf("pattern %q: %v", pm.Pattern.Regexp, err)
			}
			var found bool
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				m := re.FindStringSubmatch(sc.Text())
				if m == nil {
					continue
				}
				file := filepath.Join(workspace, m[pm.Pattern.File])
				line, _ := strconv.Atoi(m[pm.Pattern.Line])
				col, _ := strconv.Atoi(m[pm.Pattern.Column])
				if file != handler {
					t.Errorf("matched %q: file %s, want %s", sc.Text(), file, handler)
					continue
				}
				found = true
				if line != broken+1 && line != broken {
					t.Errorf("matched %q: line %d, want %d (the broken line) or the next", sc.Text(), line, broken)
				}
				if col < 1 {
					t.Errorf("matched %q: column %d, want ≥ 1", sc.Text(), col)
				}
				if m[pm.Pattern.Message] == "" {
					t.Errorf("matched %q: empty message", sc.Text())
				}
			}
			if !found {
				t.Fatalf("no line matched %q in:\n%s", pm.Pattern.Regexp, out)
			}
			if bg := pm.Background; bg != nil {
				for _, p := range []string{bg.BeginsPattern, bg.EndsPattern} {
					if !regexp.MustCompile("(?m)" + p).MatchString(out) {
						t.Errorf("background pattern %q matches no line of:\n%s", p, out)
					}
				}
			}
		})
	}
}

// TestGoTestFailureLocations: a Dockerfile step running `go test ./...` fails; go test
// prints the failing test's location relative to its package directory
// ("calc_test.go:9: …"), and devloop must print it as the host file, relative to the
// working directory (pkg/calc/calc_test.go:9), also when a file of the same name sits
// in the step's working directory.
func TestGoTestFailureLocations(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/gotest\n\ngo 1.26\n",
		"Dockerfile": `FROM golang:1.26-alpine AS test
WORKDIR /src
ENV CGO_ENABLED=0
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    go test ./...

FROM scratch AS out
COPY --from=test /src /src
`,
		"pkg/calc/calc.go": "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a - b }\n",
		"pkg/calc/calc_test.go": `package calc

import "testing"

func TestAdd(t *testing.T) {
	got := Add(2, 3)
	want := 5
	if got != want {
		t.Errorf("Add(2, 3) = %d, want %d", got, want)
	}
}
`,
		"calc_test.go":  "package gotest\n", // same name in the working directory
		"doc.go":        "// Package gotest is the root package.\npackage gotest\n",
		"devloop.yaml":  "targets:\n  out:\n    output: out\n",
		".dockerignore": "out\n",
	}
	for name, content := range files {
		e2etest.WriteFile(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
	r := runDevloop(t, dir, "build", "--progress", "quiet")
	if r.Code != 1 {
		t.Fatalf("build with a failing test: exit %d, want 1\n%v", r.Code, r)
	}
	want := "pkg/calc/calc_test.go:9: Add(2, 3) = -1, want 5"
	if !strings.Contains(r.Stdout, want) {
		t.Errorf("output lacks the mapped test failure %q:\n%v", want, r)
	}
}
