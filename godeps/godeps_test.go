package godeps

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// project writes a module whose server imports internal/shared only from files
// that some configurations compile.
func project(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":                      "module example.com/m\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n",
		"internal/shared/shared.go":   "package shared\n\nconst Text = \"v1\"\n",
		"internal/other/other.go":     "package other\n\nconst Text = \"o\"\n",
		"internal/linuxonly/l.go":     "package linuxonly\n\nconst Text = \"l\"\n",
		"internal/future/f.go":        "package future\n\nconst Text = \"f\"\n",
		"internal/cgoonly/c.go":       "package cgoonly\n\nconst Text = \"c\"\n",
		"internal/withc/w.go":         "package withc\n\nconst Text = \"w\"\n",
		"cmd/server/withc.go":         "package main\n\n// int x;\nimport \"C\"\n\nimport \"example.com/m/internal/withc\"\n\nfunc init() { msg += withc.Text }\n",
		"cmd/client/main.go":          "package main\n\nimport \"example.com/m/internal/shared\"\n\nfunc main() { println(shared.Text) }\n",
		"cmd/server/main.go":          "package main\n\nimport \"example.com/m/internal/other\"\n\nvar msg = other.Text\n\nfunc main() { println(msg) }\n",
		"cmd/server/prod.go":          "//go:build prod\n\npackage main\n\nimport \"example.com/m/internal/shared\"\n\nfunc init() { msg = shared.Text }\n",
		"cmd/server/os_linux.go":      "package main\n\nimport \"example.com/m/internal/linuxonly\"\n\nfunc init() { msg += linuxonly.Text }\n",
		"cmd/server/nocgo.go":         "//go:build !cgo\n\npackage main\n\nimport \"example.com/m/internal/cgoonly\"\n\nfunc init() { msg += cgoonly.Text }\n",
		"cmd/server/future.go":        "//go:build go1.99\n\npackage main\n\nimport \"example.com/m/internal/future\"\n\nfunc init() { msg += future.Text }\n",
		"cmd/server/ignored.go":       "//go:build ignore\n\npackage main\n\nimport \"example.com/m/internal/shared\"\n",
		"cmd/embed/main.go":           "package main\n\nimport (\n\t\"embed\"\n\t_ \"example.com/lib\"\n)\n\n//go:embed data static/*.html\nvar files embed.FS\n\nfunc main() { _ = files }\n",
		"cmd/embed/data/hello.txt":    "hello\n",
		"cmd/embed/data/sub/deep.txt": "deep\n",
		"cmd/embed/static/index.html": "<p>\n",
		"vendor/modules.txt":          "# example.com/lib v0.0.0\n## explicit\nexample.com/lib\n",
		"vendor/example.com/lib/l.go": "package lib\n",
	}
	for name, content := range files {
		write(t, dir, name, content)
	}
	return dir
}

func TestInputs(t *testing.T) {
	dir := project(t)
	// The host's own configuration must not leak into the answer.
	t.Setenv("GOFLAGS", "-tags=prod")
	t.Setenv("CGO_ENABLED", "1")
	t.Setenv("GOOS", "windows")
	linux := map[string]string{"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"}
	with := func(kv ...string) map[string]string {
		env := maps.Clone(linux)
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	tests := []struct {
		name      string
		patterns  []string
		flags     []string
		env       map[string]string
		wantDirs  string // comma-separated
		wantTrees string
	}{
		{"client", []string{"./cmd/client"}, nil, linux, "cmd/client,internal/shared", ""},
		{"server, no tags: go1.99 file followed, cgo off", []string{"./cmd/server"}, nil, linux,
			"cmd/server,internal/cgoonly,internal/future,internal/linuxonly,internal/other", ""},
		{"server -tags prod", []string{"./cmd/server"}, []string{"-tags=prod"}, linux,
			"cmd/server,internal/cgoonly,internal/future,internal/linuxonly,internal/other,internal/shared", ""},
		{"server -tags with spaces", []string{"./cmd/server"}, []string{"-tags=x prod"}, linux,
			"cmd/server,internal/cgoonly,internal/future,internal/linuxonly,internal/other,internal/shared", ""},
		{"server GOOS=darwin", []string{"./cmd/server"}, nil, with("GOOS", "darwin"),
			"cmd/server,internal/cgoonly,internal/future,internal/other", ""},
		{"server cgo on", []string{"./cmd/server"}, nil, with("CGO_ENABLED", "1"),
			"cmd/server,internal/future,internal/linuxonly,internal/other,internal/withc", ""},
		{"import path and pattern", []string{"example.com/m/cmd/client", "./internal/..."}, nil, linux,
			"cmd/client,internal/cgoonly,internal/future,internal/linuxonly,internal/other,internal/shared,internal/withc", ""},
		{"embed and vendor", []string{"./cmd/embed"}, []string{"-mod=vendor"}, linux,
			"cmd/embed,cmd/embed/data,cmd/embed/data/sub,cmd/embed/static,vendor/example.com/lib", "cmd/embed/data,cmd/embed/static"},
	}
	l := NewLister()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Inputs(t.Context(), Query{
				Root: dir, Dir: dir, Patterns: tt.patterns, Flags: tt.flags, Env: tt.env,
				GoMod: filepath.Join(dir, "go.mod"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got.Dirs, ","); g != tt.wantDirs {
				t.Errorf("Dirs = %s\nwant   %s", g, tt.wantDirs)
			}
			if g := strings.Join(got.Trees, ","); g != tt.wantTrees {
				t.Errorf("Trees = %s, want %s", g, tt.wantTrees)
			}
		})
	}
}

func TestInputsErrors(t *testing.T) {
	dir := project(t)
	write(t, dir, "nested/go.mod", "module example.com/nested\n\ngo 1.26\n")
	write(t, dir, "nested/n.go", "package nested\n")
	linux := map[string]string{"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"}
	l := NewLister()
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"missing package", Query{Root: dir, Dir: dir, Patterns: []string{"./cmd/missing"}, Env: linux, GoMod: filepath.Join(dir, "go.mod")}, "go list"},
		{"missing import path", Query{Root: dir, Dir: dir, Patterns: []string{"example.com/m/cmd/nope"}, Env: linux, GoMod: filepath.Join(dir, "go.mod")}, "go list"},
		{"bad flag", Query{Root: dir, Dir: dir, Patterns: []string{"./cmd/client"}, Flags: []string{"-mod=bogus"}, Env: linux, GoMod: filepath.Join(dir, "go.mod")}, "go list"},
		{"another go.mod", Query{Root: dir, Dir: filepath.Join(dir, "nested"), Patterns: []string{"."}, Env: linux, GoMod: filepath.Join(dir, "go.mod")}, "the build uses"},
		{"no platform", Query{Root: dir, Dir: dir, Patterns: []string{"./cmd/client"}, Env: map[string]string{}, GoMod: filepath.Join(dir, "go.mod")}, "GOOS and GOARCH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := l.Inputs(t.Context(), tt.q)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestInputsBrokenImports: while an import block is being typed the package does
// not load; its directory and what could be read still count, and no error makes
// every target unknown.
func TestInputsBrokenImports(t *testing.T) {
	dir := project(t)
	write(t, dir, "cmd/client/main.go", "package main\n\nimport (\n\t\"example.com/m/internal/shared\"\n\t\"example.com/m/internal/oth\n)\n\nfunc main() { println(shared.Text) }\n")
	got := mustInputs(t, NewLister(), Query{Root: dir, Dir: dir, Patterns: []string{"./cmd/client"},
		Env: map[string]string{"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"}, GoMod: filepath.Join(dir, "go.mod")})
	if g := strings.Join(got.Dirs, ","); !strings.Contains(g, "cmd/client") {
		t.Errorf("Dirs = %s, want cmd/client among them", g)
	}
}

func TestInputsWorkspace(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "go.work", "go 1.26\n\nuse (\n\t./app\n\t./lib\n)\n")
	write(t, dir, "app/go.mod", "module example.com/app\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n")
	write(t, dir, "app/main.go", "package main\n\nimport \"example.com/lib\"\n\nfunc main() { println(lib.X) }\n")
	write(t, dir, "lib/go.mod", "module example.com/lib\n\ngo 1.26\n")
	write(t, dir, "lib/lib.go", "package lib\n\nconst X = 1\n")
	env := map[string]string{"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"}
	l := NewLister()
	q := Query{Root: dir, Dir: filepath.Join(dir, "app"), Patterns: []string{"."}, Env: env,
		GoMod: filepath.Join(dir, "app", "go.mod"), GoWork: filepath.Join(dir, "go.work")}
	if g := strings.Join(mustInputs(t, l, q).Dirs, ","); g != "app,lib" {
		t.Errorf("with go.work: Dirs = %s, want app,lib", g)
	}
	// Without the workspace the lib module cannot be found: that build fails, and
	// reads nothing of lib until go.work (which every target depends on) appears.
	q.GoWork = ""
	if g := strings.Join(mustInputs(t, l, q).Dirs, ","); g != "app" {
		t.Errorf("without go.work: Dirs = %s, want app", g)
	}
}

// TestInputsCgo: the C compiler reads headers outside the package's directory.
func TestInputsCgo(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "go.mod", "module example.com/c\n\ngo 1.26\n")
	write(t, dir, "cmd/c/main.go", "package main\n\n// #cgo CFLAGS: -I${SRCDIR}/../../cinclude\n// #include \"../../clib/x.h\"\nimport \"C\"\n\nfunc main() {}\n")
	write(t, dir, "clib/x.h", "#include \"y/z.h\"\n")
	write(t, dir, "clib/y/z.h", "#define Z 1\n")
	write(t, dir, "cinclude/a.h", "\n")
	l := NewLister()
	q := Query{Root: dir, Dir: dir, Patterns: []string{"./cmd/c"}, GoMod: filepath.Join(dir, "go.mod"),
		Env: map[string]string{"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "1"}}
	got := mustInputs(t, l, q)
	if g := strings.Join(got.Dirs, ","); g != "clib,clib/y,cmd/c" {
		t.Errorf("Dirs = %s, want clib,clib/y,cmd/c", g)
	}
	if g := strings.Join(got.Trees, ","); g != "cinclude" {
		t.Errorf("Trees = %s, want cinclude", g)
	}
}

func TestEmbedTree(t *testing.T) {
	for pat, want := range map[string]string{
		"static":         "static",
		"all:static":     "static",
		"static/*.html":  "static",
		"a/b/[xy].txt":   "a/b",
		"*.txt":          "",
		"data/file.json": "data/file.json",
	} {
		if got := embedTree(pat); got != want {
			t.Errorf("embedTree(%q) = %q, want %q", pat, got, want)
		}
	}
}

func mustInputs(t *testing.T, l *Lister, q Query) Inputs {
	t.Helper()
	got, err := l.Inputs(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
