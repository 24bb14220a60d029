package dockerfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCmdLineSpan: a literal word of a RUN's command line maps back to where it is
// written, across continuation lines, comment and empty lines between them, white
// space and the escape directive; words of inner scripts have no offsets.
func TestCmdLineSpan(t *testing.T) {
	tests := []struct {
		name, content string
		want          []string // the located arguments of go, as the source has them at their span
	}{
		{"one line", "FROM alpine\nRUN   go build -a -o /x .\n", []string{"build", "-a", "-o", "/x", "."}},
		{"flags before the command", "FROM alpine\nRUN --mount=type=cache,target=/c go build -a\n", []string{"build", "-a"}},
		{"continuations, a comment and an empty line", "FROM alpine\nRUN go \\\n    build \\\n  # note -a\n\n    -a \\\t \n  .\n", []string{"build", "-a", "."}},
		{"escape directive", "# escape=`\nFROM alpine\nRUN go `\n  build -a\n", []string{"build", "-a"}},
		{"quoted and expanded words have none", "FROM alpine\nENV X=1\nRUN go \"build\" $X '-a' -a\n", []string{"-a"}},
		{"subshells and if are the command line's", "FROM alpine\nRUN (cd /x && go build -a) || if true; then go vet; fi\n", []string{"build", "-a", "vet"}},
		{"inner scripts have none", "FROM alpine\nRUN sh -c 'go build -a' && f() { go build -a; } && f && echo $(go env GOPATH)\n", nil},
		{"heredoc", "FROM alpine\nRUN <<EOF\ngo build -a\nEOF\n", nil},
		{"exec form", "FROM alpine\nRUN [\"go\", \"build\", \"-a\"]\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := writeDockerfile(t, tt.content)
			r := d.Runs()[0]
			var got []string
			WalkRun(r.Command, r.State, func(c Command, _ *Facts) bool {
				if c.Name != "go" {
					return false
				}
				for _, w := range c.Args {
					if w.End == 0 {
						continue
					}
					from, to, ok := d.CmdLineSpan(r.Command, w.Start, w.End)
					if !ok {
						t.Errorf("CmdLineSpan(%q) not found", w.Raw)
						continue
					}
					got = append(got, string(d.Source()[from:to]))
				}
				return true
			})
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("located words = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestAfterKeyword: flags inserted after the keyword join the instruction's line.
func TestAfterKeyword(t *testing.T) {
	d := writeDockerfile(t, "FROM alpine\n  run \\\n  echo hi\n")
	r := d.Runs()[0]
	at, ok := d.AfterKeyword(r.Command)
	if !ok {
		t.Fatal("AfterKeyword: not found")
	}
	src := string(d.Source())
	if got := src[:at] + " --network=none" + src[at:]; got != "FROM alpine\n  run --network=none \\\n  echo hi\n" {
		t.Errorf("inserted = %q", got)
	}
}

// TestWithImages: a base image's config is where its stages start: its
// environment, user and working directory, under what the Dockerfile sets.
func TestWithImages(t *testing.T) {
	d := writeDockerfile(t, "FROM golang:1.26 AS a\nRUN x\nFROM a AS b\nUSER 1000\nENV GOPATH=/gp\nRUN y\nFROM scratch\nFROM alpine\nRUN z\n")
	if got := strings.Join(d.BaseImages(), ","); got != "golang:1.26,alpine" {
		t.Errorf("BaseImages = %s, want golang:1.26,alpine", got)
	}
	di, err := d.WithImages(map[string]Image{"golang:1.26": {Env: []string{"GOPATH=/go", "HOME=/root"}, User: "root", WorkingDir: "/go"}})
	if err != nil {
		t.Fatal(err)
	}
	runs := di.Runs()
	want := []struct{ user, dir, gopath string }{{"root", "/go", "/go"}, {"1000", "/go", "/gp"}, {"", "/", ""}}
	for i, w := range want {
		st := runs[i].State
		if st.User != w.user || st.Dir != w.dir || st.Env["GOPATH"].Value != w.gopath {
			t.Errorf("RUN %d: user %q, dir %q, GOPATH %q; want %q, %q, %q", i, st.User, st.Dir, st.Env["GOPATH"].Value, w.user, w.dir, w.gopath)
		}
	}
	if st := d.Runs()[0].State; st.Dir != "/" || st.User != "" || len(st.Env) != 0 {
		t.Errorf("the Dockerfile WithImages was called on changed: %+v", st)
	}
}

// TestViewFills: what may put files where a cache would be mounted.
func TestViewFills(t *testing.T) {
	d := writeDockerfile(t, "FROM alpine\nWORKDIR /go\nCOPY . .\nCOPY --from=other /m /go/pkg/mod/m\nRUN --mount=type=bind,target=/w x\n")
	ctx := filepath.Dir(d.Path)
	if err := os.MkdirAll(filepath.Join(ctx, "pkg", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := d.Runs()[0]
	v := NewView(ctx, r.State.Dir, r.Mounts, r.Copies, "")
	for p, fills := range map[string]bool{
		"/root/.cache/go-build": false, // nothing there
		"/go/pkg/x":             true,  // the context's pkg/x, copied to /go
		"/go/bin":               false, // the context has no bin
		"/go/pkg/mod":           true,  // another stage's files under it
		"/go/pkg":               true,
		"/w/cache":              true, // under a mount
		"/":                     true,
	} {
		if got := v.Fills(p); (got != "") != fills {
			t.Errorf("Fills(%s) = %q, want filled %v", p, got, fills)
		}
	}
}
