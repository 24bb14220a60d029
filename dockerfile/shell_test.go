package dockerfile

import (
	"strings"
	"testing"
)

// walk runs WalkRun on the only RUN of "FROM alpine\n"+lines and returns the
// commands the visitor saw, "name args… [VAR=value …] @dir", and the facts.
func walk(t *testing.T, lines string) ([]string, *Facts) {
	t.Helper()
	d := writeDockerfile(t, "FROM alpine\nWORKDIR /src\nENV CACHE=/cache\n"+lines+"\n")
	runs := d.Runs()
	if len(runs) != 1 {
		t.Fatalf("%d RUNs, want 1", len(runs))
	}
	var seen []string
	facts := WalkRun(runs[0].Command, runs[0].State, func(c Command, _ *Facts) bool {
		if c.Name != "go" && c.Name != "make" {
			return false
		}
		s := c.Name
		for _, a := range c.Args {
			s += " " + a.Text
		}
		for _, k := range []string{"GOCACHE", "GOFLAGS"} {
			if v, ok := c.Env[k]; ok {
				s += " " + k + "=" + v.Value
			}
		}
		seen = append(seen, s+" @"+c.Dir)
		return true
	})
	return seen, facts
}

func TestWalkRun(t *testing.T) {
	tests := []struct {
		name, run string
		want      string // the commands seen, joined by " | "
		unknown   string // substring of Facts.Unknown
	}{
		{"&& chain, cd", "RUN cd cmd && go build .", "go build . @/src/cmd", ""},
		{"inline assignment", "RUN GOCACHE=$CACHE go build", "go build GOCACHE=/cache @/src", ""},
		{"export", "RUN export GOFLAGS=-x; go vet", "go vet GOFLAGS=-x @/src", ""},
		{"unexported assignment", "RUN GOFLAGS=-x; go vet", "go vet @/src", ""},
		{"env", "RUN env -u CACHE GOFLAGS=-y go test", "go test GOFLAGS=-y @/src", ""},
		{"wrappers and their options", "RUN exec -a x nice -n 5 nohup command -p time -p go build", "go build @/src", ""},
		{"GNU time options with values", "RUN /usr/bin/time --format=%e -o /t go build", "go build @/src", ""},
		{"command -v describes only", "RUN command -v go", "", ""},
		{"wrapper option not known", "RUN nice --frob go build", "", "nice option --frob is not followed"},
		{"sh -c", `RUN sh -ec "cd /x && go build"`, "go build @/x", ""},
		{"bash -o pipefail -c", `RUN ["/bin/bash", "-o", "pipefail", "-c", "go build"]`, "go build @/src", ""},
		{"sh reads a here-document", "RUN sh <<EOF\ncd /y\ngo build\nEOF", "go build @/y", ""},
		{"here-document script", "RUN <<EOF\nmake all\nEOF", "make all @/src", ""},
		{"function", "RUN b() { cd /f && go build; }; b", "go build @/f", ""},
		{"if, loop", "RUN if true; then go build; fi; for i in 1; do go vet; done", "go build @/src | go vet @/src", ""},
		{"command substitution", "RUN echo $(make version)", "make version @/src", ""},
		{"exec form", `RUN ["go", "build", "./..."]`, "go build ./... @/src", ""},
		{"eval", "RUN eval go build", "", "eval runs a script devloop does not follow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen, facts := walk(t, tt.run)
			if got := strings.Join(seen, " | "); got != tt.want {
				t.Errorf("commands = %q, want %q", got, tt.want)
			}
			if tt.unknown == "" && facts.Unknown != "" || !strings.Contains(facts.Unknown, tt.unknown) {
				t.Errorf("Unknown = %q, want %q", facts.Unknown, tt.unknown)
			}
		})
	}
}

// TestWalkRunFiles: what the commands do to files.
func TestWalkRunFiles(t *testing.T) {
	_, f := walk(t, "RUN cat a.txt > /out/b && cp -r conf /etc/ && sha256sum /src/x")
	if got := strings.Join(f.Reads, ","); got != "/src/a.txt,/src/conf,/etc,/src/x" {
		t.Errorf("Reads = %s", got)
	}
	if got := strings.Join(f.Writes, ","); got != "/out/b,/src/conf,/etc" {
		t.Errorf("Writes = %s", got)
	}
	if f.ReadsAll != "" || f.WritesAll != "" {
		t.Errorf("ReadsAll, WritesAll = %q, %q, want none", f.ReadsAll, f.WritesAll)
	}
	if _, f = walk(t, "RUN ./configure"); !strings.Contains(f.ReadsAll, "configure") || f.WritesAll == "" {
		t.Errorf("an unknown program: ReadsAll, WritesAll = %q, %q", f.ReadsAll, f.WritesAll)
	}
	if _, f = walk(t, "RUN echo go build | sh"); !strings.Contains(f.ReadsAll, "sh with a script file") {
		t.Errorf("sh reading a pipe: ReadsAll = %q, want it not followed", f.ReadsAll)
	}
}
