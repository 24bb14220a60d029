package godeps

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestLeavesOut(t *testing.T) {
	linux := Query{Env: map[string]string{"GOOS": "linux", "GOARCH": "amd64"}}
	darwin := Query{Env: map[string]string{"GOOS": "darwin", "GOARCH": "arm64"}}
	android := Query{Env: map[string]string{"GOOS": "android", "GOARCH": "arm64"}}
	tests := []struct {
		q    Query
		name string
		want bool
	}{
		{linux, "a_darwin.go", true},
		{linux, "a_windows_amd64.go", true},
		{linux, "a_arm64.go", true},
		{linux, "_scratch.go", true},
		{linux, ".hidden.go", true},
		{linux, "a_linux.go", false},
		{linux, "a_linux_amd64.go", false},
		{linux, "a_amd64.go", false},
		{linux, "a.go", false},
		{linux, "a_test.go", false},       // go build ignores it, but not by these rules
		{linux, "a_darwin_test.go", true}, // never for linux, test or not
		{linux, "darwin.go", false},       // a name, not a suffix
		{linux, "a_unix.go", false},       // unix is no file name tag
		{linux, "a_darwin.h", false},      // included by any name
		{linux, "a_darwin.txt", false},    // may be embedded
		{darwin, "a_darwin.go", false},
		{darwin, "a_linux.go", true},
		{darwin, "a_amd64.go", true},
		{android, "a_linux.go", false},  // android builds compile _linux files
		{Query{}, "a_darwin.go", false}, // no configuration: nothing is ruled out
	}
	for _, tt := range tests {
		if got := tt.q.LeavesOut(tt.name); got != tt.want {
			t.Errorf("GOOS=%s GOARCH=%s: LeavesOut(%q) = %v, want %v", tt.q.Env["GOOS"], tt.q.Env["GOARCH"], tt.name, got, tt.want)
		}
	}
}

// Which files of the context a build reads (InputSet.Covers), file by file: a Go file another platform's
// build compiles is not read, unless its directory is read otherwise.
func TestInputSetCoversByName(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"go.mod":                        "module example.com/m\n\ngo 1.26\n",
		"cmd/server/main.go":            "package main\n\nimport (\n\t_ \"example.com/m/internal/greeting\"\n\t_ \"example.com/m/internal/assets\"\n)\n\nfunc main() {}\n",
		"internal/greeting/g.go":        "package greeting\n",
		"internal/greeting/g_darwin.go": "package greeting\n",
		"internal/greeting/g_linux.go":  "package greeting\n",
		"internal/greeting/README.md":   "docs\n",
		"internal/assets/assets.go":     "package assets\n\nimport _ \"embed\"\n\n//go:embed *.go\nvar src string\n",
		"internal/assets/x_darwin.go":   "package assets\n",
	} {
		write(t, dir, name, content)
	}
	l := NewLister()
	for _, tt := range []struct {
		goos, goarch string
		reads        string // the files of the list below that it reads
	}{
		{"linux", "amd64", "internal/greeting/g.go,internal/greeting/g_linux.go,internal/greeting/new_linux.go,internal/greeting/README.md,internal/assets/assets.go,internal/assets/x_darwin.go,internal/assets/new_windows.go,cmd/server/main.go"},
		{"darwin", "arm64", "internal/greeting/g.go,internal/greeting/g_darwin.go,internal/greeting/README.md,internal/assets/assets.go,internal/assets/x_darwin.go,internal/assets/new_windows.go,cmd/server/main.go"},
	} {
		t.Run(tt.goos, func(t *testing.T) {
			q := Query{Root: dir, Dir: dir, Patterns: []string{"./cmd/server"},
				Env: map[string]string{"GOOS": tt.goos, "GOARCH": tt.goarch, "CGO_ENABLED": "0"}, GoMod: filepath.Join(dir, "go.mod")}
			in := mustInputs(t, l, q)
			set := NewInputSet()
			set.Add(in)
			if got, want := strings.Join(in.Packages, ","), "cmd/server,internal/greeting"; got != want {
				t.Errorf("Packages = %s, want %s (internal/assets embeds its own files)", got, want)
			}
			var reads []string
			for _, f := range []string{
				"internal/greeting/g.go", "internal/greeting/g_darwin.go", "internal/greeting/g_linux.go",
				"internal/greeting/new_linux.go", "internal/greeting/README.md",
				"internal/assets/assets.go", "internal/assets/x_darwin.go", "internal/assets/new_windows.go",
				"cmd/server/main.go", "cmd/client/main.go", "other.go",
			} {
				if set.Covers(f) {
					reads = append(reads, f)
				}
			}
			if got := strings.Join(reads, ","); got != tt.reads {
				t.Errorf("reads %s\nwant  %s", got, tt.reads)
			}
		})
	}
}

// A target built for two platforms reads what either build reads; a directory one of
// its configurations reads whole keeps every file.
func TestInputSetConfigurations(t *testing.T) {
	linux := Query{Env: map[string]string{"GOOS": "linux", "GOARCH": "amd64"}}
	darwin := Query{Env: map[string]string{"GOOS": "darwin", "GOARCH": "arm64"}}
	pkg := func(q Query, dirs ...string) Inputs { return Inputs{Dirs: dirs, Packages: dirs, q: q} }

	onlyLinux := NewInputSet()
	onlyLinux.Add(pkg(linux, "internal/greeting"))
	both := NewInputSet()
	both.Add(pkg(linux, "internal/greeting"))
	both.Add(pkg(darwin, "internal/greeting"))
	embedding := NewInputSet()
	embedding.Add(pkg(linux, "internal/greeting"))
	embedding.Add(Inputs{Dirs: []string{"internal/greeting"}, q: darwin}) // read whole: an embed
	embedding.Add(pkg(linux, "internal/greeting"))

	tests := []struct {
		name string
		set  *InputSet
		p    string
		want bool
	}{
		{"linux: a darwin file", onlyLinux, "internal/greeting/g_darwin.go", false},
		{"linux: a linux file", onlyLinux, "internal/greeting/g_linux.go", true},
		{"linux: another directory", onlyLinux, "internal/other/g.go", false},
		{"two platforms: a darwin file", both, "internal/greeting/g_darwin.go", true},
		{"two platforms: a windows file", both, "internal/greeting/g_windows.go", false},
		{"read whole by one configuration", embedding, "internal/greeting/g_windows.go", true},
	}
	for _, tt := range tests {
		if got := tt.set.Covers(tt.p); got != tt.want {
			t.Errorf("%s: Covers(%s) = %v, want %v", tt.name, tt.p, got, tt.want)
		}
	}
}
