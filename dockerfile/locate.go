package dockerfile

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/devloop/devloop/internal/ospath"
	"golang.org/x/mod/modfile"
)

// Location is a compiler message's position, mapped from the build container to the
// host when possible.
type Location struct {
	File   string // host path, absolute, when mapped; else the path as printed in the build
	Line   int
	Col    int // 0 when absent
	Msg    string
	Mapped bool   // File is a host file that exists
	Raw    string // the original line
}

// locationLine matches `file:line[:col]: message`, optionally after a tool's name
// ("vet: "). The file must have an extension, which keeps timestamps and the like out.
var locationLine = regexp.MustCompile(`^\s*(?:[a-z][a-z0-9_-]*: )?([^\s:]+\.[A-Za-z0-9_]+):([0-9]+)(?::([0-9]+))?: (.*)$`)

// goTestSummary matches the line that ends a package's `go test` output:
// "FAIL\texample.com/m/pkg\t0.01s", "ok  \texample.com/m/pkg\t(cached)",
// "FAIL\texample.com/m/pkg [build failed]".
var goTestSummary = regexp.MustCompile(`^(?:FAIL|ok )\s+(\S+)(?:\s|$)`)

// Locate finds the `file:line[:col]: message` lines (Go compiler, go vet, …) in logs,
// the output of the failing step (a BuildKit vertex name such as
// "[build-server 1/1] RUN go build ./cmd/server", optionally prefixed "[target] "),
// and maps each path from the build container to the host file under contextDir:
// relative paths resolve against the step's working directory, then through the
// RUN's [View] of the context. A `go test` failure's bare file name resolves in the
// directory of the package its block's summary line names (the module path read from
// the go.mod the RUN sees). Lines that cannot be mapped (unknown step, a path from
// another stage or image, a file missing on the host) are returned with Mapped false.
func (d *Dockerfile) Locate(step, logs, contextDir string) []Location {
	var locs []Location
	var pkgOf []string // per location: the package of the `go test` block it is in
	open := 0          // locations not yet closed by a go test summary line
	for _, raw := range strings.Split(logs, "\n") {
		raw = strings.TrimRight(raw, "\r")
		if m := goTestSummary.FindStringSubmatch(raw); m != nil {
			for ; open > 0; open-- {
				pkgOf[len(pkgOf)-open] = m[1]
			}
			continue
		}
		m := locationLine.FindStringSubmatch(raw)
		if m == nil {
			continue
		}
		line, err := strconv.Atoi(m[2])
		if err != nil || line == 0 {
			continue
		}
		col, _ := strconv.Atoi(m[3])
		locs = append(locs, Location{File: m[1], Line: line, Col: col, Msg: m[4], Raw: raw})
		pkgOf = append(pkgOf, "")
		open++
	}
	if len(locs) == 0 {
		return locs
	}
	run := d.findRun(step)
	if run == nil {
		return locs
	}
	ctx, err := filepath.Abs(contextDir)
	if err != nil {
		return locs
	}
	v := NewView(ctx, run.workdir, run.mounts, run.copies, "")
	hostPath := func(printed string) (string, bool) {
		rel, st, _ := v.File(ContainerPath(run.workdir, printed))
		if st != FilePresent {
			return "", false
		}
		return filepath.Join(ctx, filepath.FromSlash(rel)), true
	}
	var (
		module     string
		moduleRead bool
	)
	for i := range locs {
		// `go test` prints a failing test's file:line relative to its package
		// directory; the package is named by the block's summary line. That wins over
		// a file of the same name in the working directory (main_test.go is common).
		if pkg := pkgOf[i]; pkg != "" && !strings.Contains(locs[i].File, "/") {
			if !moduleRead {
				module, moduleRead = modulePath(hostPath), true
			}
			if rel, ok := packageDir(module, pkg); ok {
				if host, ok := hostPath(path.Join(rel, locs[i].File)); ok {
					locs[i].File, locs[i].Mapped = host, true
					continue
				}
			}
		}
		if host, ok := hostPath(locs[i].File); ok {
			locs[i].File, locs[i].Mapped = host, true
		}
	}
	return locs
}

// modulePath reads the module path of the go.mod in the RUN's working directory, as
// the build saw it through its mounts and copies; "" if there is none.
func modulePath(hostPath func(string) (string, bool)) string {
	host, ok := hostPath("go.mod")
	if !ok {
		return ""
	}
	data, err := os.ReadFile(host)
	if err != nil {
		return ""
	}
	return modfile.ModulePath(data)
}

// packageDir turns an import path inside module into its directory relative to the
// module root ("." for the root package).
func packageDir(module, pkg string) (string, bool) {
	switch {
	case module == "":
		return "", false
	case pkg == module:
		return ".", true
	case strings.HasPrefix(pkg, module+"/"):
		return strings.TrimPrefix(pkg, module+"/"), true
	}
	return "", false
}

// findRun finds the RUN a BuildKit vertex name stands for: by stage and command text,
// else by step number (build args passed to the build change the text), else the
// stage's only RUN.
func (d *Dockerfile) findRun(step string) *runInfo {
	stage, hasStage, i, n, text := parseStep(step)
	text = collapseSpace(text)
	var candidates []int
	switch {
	case hasStage && stage != "":
		if idx := d.Lookup(stage, RefStep, 0); idx >= 0 {
			candidates = []int{idx}
		}
	case len(d.stages) == 1:
		candidates = []int{0}
	default:
		for j := range d.stages {
			candidates = append(candidates, j)
		}
	}
	for _, j := range candidates {
		for k := range d.stages[j].runs {
			if d.stages[j].runs[k].text == text {
				return &d.stages[j].runs[k]
			}
		}
	}
	if len(candidates) != 1 || !hasStage {
		return nil
	}
	info := &d.stages[candidates[0]]
	// ONBUILD triggers of the base image are numbered first.
	if shift := n - info.total; shift >= 0 {
		for k := range info.runs {
			if info.runs[k].index == i-shift {
				return &info.runs[k]
			}
		}
	}
	if len(info.runs) == 1 && strings.HasPrefix(text, "RUN ") {
		return &info.runs[0]
	}
	return nil
}

// StepAsWritten names step, a BuildKit vertex name of a RUN of a build of d, as the
// same step of written: "[build 4/4] RUN --mount=type=cache,… go build ." becomes
// "[build 4/4] RUN go build ." when d is a dev build of written (an edited copy whose
// instructions keep written's lines). step as given when written is nil or either RUN
// cannot be found.
func (d *Dockerfile) StepAsWritten(step string, written *Dockerfile) string {
	if written == nil {
		return step
	}
	r := d.findRun(step)
	if r == nil {
		return step
	}
	for j := range written.stages {
		for k := range written.stages[j].runs {
			if w := &written.stages[j].runs[k]; w.line == r.line {
				if prefix, ok := stepPrefix(step); ok {
					return prefix + w.text
				}
				return step
			}
		}
	}
	return step
}

// stepPrefix is the part of a vertex name before its command (see parseStep): "[stage
// 2/3] " of "[stage 2/3] RUN go build", an ONBUILD included.
func stepPrefix(step string) (string, bool) {
	_, _, _, _, cmd := parseStep(step)
	if !strings.HasSuffix(step, cmd) {
		return "", false
	}
	return step[:len(step)-len(cmd)], true
}

var stepNumber = regexp.MustCompile(`^([0-9]+)/([0-9]+)$`)

// parseStep splits a vertex name like "[server] [linux/amd64 build 2/3] RUN go build"
// into the stage, the step number i of n, and the command.
func parseStep(step string) (stage string, hasStage bool, i, n int, cmd string) {
	s := strings.TrimSpace(step)
	for strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			break
		}
		fields := strings.Fields(s[1:end])
		s = strings.TrimSpace(s[end+1:])
		if len(fields) == 0 {
			continue
		}
		m := stepNumber.FindStringSubmatch(fields[len(fields)-1])
		if m == nil {
			continue // a devloop target prefix
		}
		i, _ = strconv.Atoi(m[1])
		n, _ = strconv.Atoi(m[2])
		if len(fields) >= 2 && !strings.Contains(fields[len(fields)-2], "/") {
			stage = fields[len(fields)-2]
		}
		return stage, true, i, n, strings.TrimPrefix(s, "ONBUILD ")
	}
	return "", false, 0, 0, s
}

// FormatLocation renders l as `file:line:col: message` (`:col` left out when 0), the
// file relative to cwd when it is a mapped host file inside cwd.
func FormatLocation(l Location, cwd string) string {
	file := l.File
	if l.Mapped && cwd != "" {
		if rel, ok := ospath.Child(cwd, l.File); ok {
			file = rel
		}
	}
	if l.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", file, l.Line, l.Col, l.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", file, l.Line, l.Msg)
}

// Failure is a failed build step as devloop shows it: the step, and its output split
// into the compiler's messages (paths mapped back to host files) and the other lines.
type Failure struct {
	Step      string     // the BuildKit vertex name, as given
	Locations []Location // see [Dockerfile.Locate], in the order of the output
	Other     []string   // output lines that carry no location, kept in order
}

// DescribeFailure describes the failed step of a build of d from its output logs:
// a pure function of the Dockerfile, the step name and the logs (and of which files
// exist under contextDir). A nil d (the Dockerfile no longer parses) locates
// nothing: every line is Other. Empty logs give a Failure with only the Step.
func DescribeFailure(d *Dockerfile, step, logs, contextDir string) Failure {
	f := Failure{Step: step}
	if logs == "" {
		return f
	}
	lines := strings.Split(strings.TrimRight(logs, "\n"), "\n")
	if d == nil {
		f.Other = lines
		return f
	}
	f.Locations = d.Locate(step, logs, contextDir)
	located := map[string]bool{}
	for _, l := range f.Locations {
		located[l.Raw] = true
	}
	for _, line := range lines {
		if !located[strings.TrimRight(line, "\r")] {
			f.Other = append(f.Other, line)
		}
	}
	return f
}
