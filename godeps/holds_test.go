package godeps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// holdsProject is a module whose server imports internal/greeting, with an unrelated
// package internal/extra, an embedded file and a cgo-free build.
func holdsProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":                        "module example.com/h\n\ngo 1.26\n",
		"cmd/server/main.go":            "package main\n\nimport (\n\t_ \"embed\"\n\n\t\"example.com/h/internal/greeting\"\n)\n\n//go:embed banner.txt\nvar banner string\n\nfunc main() { println(banner, greeting.Text) }\n",
		"cmd/server/banner.txt":         "hi\n",
		"cmd/server/os_linux.go":        "package main\n\nfunc init() {}\n",
		"internal/greeting/greeting.go": "package greeting\n\nconst Text = \"v1\"\n",
		"internal/extra/extra.go":       "package extra\n\nconst Text = \"x\"\n",
	} {
		write(t, dir, name, content)
	}
	return dir
}

func holdsQuery(dir string, patterns ...string) Query {
	return Query{Root: dir, Dir: dir, Patterns: patterns, GoMod: filepath.Join(dir, "go.mod"),
		Env: map[string]string{"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"}}
}

// learn runs go list, then makes every file look older than the answer (a test
// writes its files right before): their headers are trusted.
func learn(t *testing.T, q Query) Inputs {
	t.Helper()
	l := NewLister()
	in := mustInputs(t, l, q)
	l.recordHeaders(&in, time.Now().Add(time.Hour))
	return in
}

func TestHolds(t *testing.T) {
	tests := []struct {
		name    string
		edit    map[string]string // files written after go list ran ("" removes)
		changed []string          // defaults to the keys of edit
		want    bool
		why     string // part of the reason when !want
	}{
		{name: "body of a compiled file", edit: map[string]string{"internal/greeting/greeting.go": "package greeting\n\nconst Text = \"v2\"\n"}, want: true},
		{name: "embedded file", edit: map[string]string{"cmd/server/banner.txt": "hello\n"}, want: true},
		{name: "test file", edit: map[string]string{"internal/greeting/greeting_test.go": "package greeting\n\nimport _ \"example.com/h/internal/extra\"\n"}, want: true},
		{name: "file of a package the build does not compile", edit: map[string]string{"internal/extra/extra.go": "package extra\n\nimport _ \"os\"\n"}, want: true},
		{name: "new package nobody imports", edit: map[string]string{"internal/newpkg/n.go": "package newpkg\n"}, want: true},
		{name: "unrelated file", edit: map[string]string{"notes.txt": "x"}, want: true},
		{name: "removed file", edit: map[string]string{"cmd/server/os_linux.go": ""}, want: true},
		{name: "new import", edit: map[string]string{"internal/greeting/greeting.go": "package greeting\n\nimport \"example.com/h/internal/extra\"\n\nconst Text = extra.Text\n"}, why: "imports"},
		{name: "build constraint", edit: map[string]string{"cmd/server/os_linux.go": "//go:build ignore\n\npackage main\n\nfunc init() {}\n"}, why: "build constraints"},
		{name: "embed pattern", edit: map[string]string{"cmd/server/main.go": "package main\n\nimport (\n\t_ \"embed\"\n\n\t\"example.com/h/internal/greeting\"\n)\n\n//go:embed other.txt\nvar banner string\n\nfunc main() { println(banner, greeting.Text) }\n"}, why: "embed"},
		{name: "package clause", edit: map[string]string{"internal/greeting/greeting.go": "package greetings\n\nconst Text = \"v1\"\n"}, why: "imports"},
		{name: "new file in a compiled package", edit: map[string]string{"internal/greeting/more.go": "package greeting\n"}, why: "is new"},
		{name: "unparsable imports", edit: map[string]string{"internal/greeting/greeting.go": "package greeting\n\nimport (\n\t\"fmt\n"}, why: "parse"},
		{name: "go.mod", edit: map[string]string{"go.mod": "module example.com/h\n\ngo 1.26\n\nrequire example.com/x v1.0.0\n"}, why: "go.mod"},
		{name: "go.work appears", edit: map[string]string{"go.work": "go 1.26\n\nuse .\n"}, why: "go.work"},
		{name: "header in a compiled package", edit: map[string]string{"internal/greeting/g.h": "#define X 1\n"}, why: "cgo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := holdsProject(t)
			in := learn(t, holdsQuery(dir, "./cmd/server"))
			changed := tt.changed
			for name, content := range tt.edit {
				if content == "" {
					if err := os.Remove(filepath.Join(dir, name)); err != nil {
						t.Fatal(err)
					}
				} else {
					write(t, dir, name, content)
				}
				changed = append(changed, name)
			}
			ok, why := in.Holds(changed)
			if ok != tt.want || !strings.Contains(why, tt.why) {
				t.Errorf("Holds(%v) = %v, %q; want %v with a reason containing %q", changed, ok, why, tt.want, tt.why)
			}
		})
	}
}

// TestHoldsChangedWhileListing: a file that changed after go list started has no
// trusted header, so the next change to it needs a new answer even when its header
// looks the same.
func TestInputsEmbeds(t *testing.T) {
	dir := holdsProject(t)
	in := mustInputs(t, NewLister(), holdsQuery(dir, "./cmd/server"))
	if got := strings.Join(in.Embeds, ","); got != "cmd/server/banner.txt" {
		t.Errorf("Embeds = %s, want cmd/server/banner.txt", got)
	}
}

func TestHoldsChangedWhileListing(t *testing.T) {
	dir := holdsProject(t)
	l := NewLister()
	in := mustInputs(t, l, holdsQuery(dir, "./cmd/server"))
	l.recordHeaders(&in, time.Now().Add(-time.Hour)) // every file changed after that start
	write(t, dir, "internal/greeting/greeting.go", "package greeting\n\nconst Text = \"v2\"\n")
	if ok, why := in.Holds([]string{"internal/greeting/greeting.go"}); ok || !strings.Contains(why, "while go list ran") {
		t.Errorf("Holds = %v, %q; want false: the header go list saw is unknown", ok, why)
	}
}

// TestHoldsMissing: while the build imports a package that does not exist, any change
// may create it.
func TestHoldsMissing(t *testing.T) {
	dir := holdsProject(t)
	write(t, dir, "internal/greeting/greeting.go", "package greeting\n\nimport \"example.com/h/internal/later\"\n\nconst Text = later.Text\n")
	in := learn(t, holdsQuery(dir, "./cmd/server"))
	if strings.Join(in.Missing, ",") != "example.com/h/internal/later" {
		t.Fatalf("Missing = %v, want example.com/h/internal/later", in.Missing)
	}
	write(t, dir, "internal/later/later.go", "package later\n\nconst Text = \"l\"\n")
	if ok, why := in.Holds([]string{"internal/later/later.go"}); ok || !strings.Contains(why, "no package provided") {
		t.Errorf("Holds = %v, %q; want false", ok, why)
	}
}

// TestHoldsOpenPattern: with ./... a new package anywhere below is built.
func TestHoldsOpenPattern(t *testing.T) {
	dir := holdsProject(t)
	in := learn(t, holdsQuery(dir, "./cmd/..."))
	if !in.Open {
		t.Fatal("Open = false for ./cmd/...")
	}
	write(t, dir, "cmd/other/main.go", "package main\n\nfunc main() {}\n")
	if ok, _ := in.Holds([]string{"cmd/other/main.go"}); ok {
		t.Error("Holds = true after a new package under ./cmd/..., want false")
	}
	if ok, why := in.Holds([]string{"notes.txt"}); !ok {
		t.Errorf("Holds = false (%s) for a file that is no Go file, want true", why)
	}
}

func TestInputsFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "go.work", "go 1.26\n\nuse (\n\t./app\n\t./lib\n)\n\nreplace example.com/w => ./w\n")
	write(t, dir, "app/go.mod", "module example.com/app\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n\nreplace example.com/r => ../r\n")
	write(t, dir, "app/main.go", "package main\n\nimport \"example.com/lib\"\n\nfunc main() { println(lib.X) }\n")
	write(t, dir, "lib/go.mod", "module example.com/lib\n\ngo 1.26\n")
	write(t, dir, "lib/lib.go", "package lib\n\nconst X = 1\n")
	q := holdsQuery(dir, ".")
	q.Dir, q.GoMod, q.GoWork = filepath.Join(dir, "app"), filepath.Join(dir, "app", "go.mod"), filepath.Join(dir, "go.work")
	in := mustInputs(t, NewLister(), q)
	want := "app/go.mod,app/go.sum,app/vendor/modules.txt,go.work,go.work.sum,lib/go.mod,lib/go.sum,r/go.mod,w/go.mod"
	if got := strings.Join(in.Files, ","); got != want {
		t.Errorf("Files = %s\nwant    %s", got, want)
	}
}

func TestGoHeaderCgoPreamble(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.go")
	header := func(src string) string {
		t.Helper()
		write(t, dir, "c.go", src)
		h, err := goHeader(file)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	a := header("package c\n\n// #cgo CFLAGS: -I../a\nimport \"C\"\n\nfunc F() {}\n")
	if b := header("package c\n\n// #cgo CFLAGS: -I../a\nimport \"C\"\n\nfunc F() { println() }\n"); a != b {
		t.Error("a change below the imports changed the header")
	}
	if b := header("package c\n\n// #cgo CFLAGS: -I../b\nimport \"C\"\n\nfunc F() {}\n"); a == b {
		t.Error("a change of the cgo preamble left the header unchanged")
	}
	if b := header("package c\n\n/*\n#cgo CFLAGS: -I../b\n*/\nimport (\n\t\"C\"\n)\n\nfunc F() {}\n"); a == b {
		t.Error("a parenthesised import with another preamble has the same header")
	}
}

// TestHeaderCache: a file unchanged since the last answer is not parsed again; a
// changed one is.
func TestHeaderCache(t *testing.T) {
	dir := holdsProject(t)
	l := NewLister()
	in := mustInputs(t, l, holdsQuery(dir, "./cmd/server"))
	later := time.Now().Add(time.Hour)
	l.recordHeaders(&in, later)
	file := filepath.Join(dir, "internal", "greeting", "greeting.go")
	c := l.headerCache[file]
	c.header = "marker"
	l.headerCache[file] = c
	l.recordHeaders(&in, later)
	if got := in.headers["internal/greeting/greeting.go"]; got != "marker" {
		t.Errorf("header of an unchanged file = %q, want the cached one", got)
	}
	write(t, dir, "internal/greeting/greeting.go", "package greeting\n\nconst Text = \"v2\"\n")
	l.recordHeaders(&in, later)
	if got := in.headers["internal/greeting/greeting.go"]; got == "marker" || got == "" {
		t.Errorf("header of a changed file = %q, want it parsed again", got)
	}
}
