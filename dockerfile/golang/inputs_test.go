package golang

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// describeInputs renders Inputs with host paths relative to ctx, one line per go
// build and one for the reads, so a table can say what it expects.
func describeInputs(in *Inputs, ctx string) string {
	rel := func(p string) string {
		if p == "" {
			return ""
		}
		r, err := filepath.Rel(ctx, p)
		if err != nil {
			return p
		}
		return filepath.ToSlash(r)
	}
	var lines []string
	for _, b := range in.Go {
		var env []string
		for k, v := range b.Env {
			env = append(env, k+"="+v)
		}
		slices.Sort(env)
		var pkgs, flags []string
		for _, p := range b.Patterns {
			if filepath.IsAbs(p) {
				p = "<ctx>/" + rel(p)
			}
			pkgs = append(pkgs, p)
		}
		for _, f := range b.Flags {
			if v, ok := strings.CutPrefix(f, "-modfile="); ok {
				f = "-modfile=<ctx>/" + rel(v)
			}
			flags = append(flags, f)
		}
		line := fmt.Sprintf("dir=%s pkgs=%s flags=%s env=%s mod=%s", rel(b.Dir), strings.Join(pkgs, ","),
			strings.Join(flags, ","), strings.Join(env, ","), rel(b.GoMod))
		if b.GoWork != "" {
			line += " work=" + rel(b.GoWork)
		}
		lines = append(lines, line)
	}
	if len(in.Reads) > 0 {
		lines = append(lines, "reads="+strings.Join(in.Reads, ","))
	}
	return strings.Join(lines, "\n")
}

func goInputsContext(t *testing.T, extra map[string]string) string {
	t.Helper()
	ctx := t.TempDir()
	files := map[string]string{
		"go.mod":                 "module example.com/m\n\ngo 1.26\n",
		"go.sum":                 "",
		"go.dev.mod":             "module example.com/m\n\ngo 1.26\n",
		"cmd/server/main.go":     "package main\n",
		"cmd/client/main.go":     "package main\n",
		"tools/gen/main.go":      "package main\n",
		"internal/shared/x.go":   "package shared\n",
		"config/app.yaml":        "a: 1\n",
		"assets/a.txt":           "a\n",
		"app/go.mod":             "module example.com/app\n\ngo 1.26\n",
		"app/cmd/x/main.go":      "package main\n",
		"src/cmd/server/main.go": "package main\n",
		"scripts/env.sh":         "TAGS=prod\n",
	}
	maps.Copy(files, extra)
	for name, content := range files {
		p := filepath.Join(ctx, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ctx
}

// goStage is a build stage for the table: FROM golang, WORKDIR /src, the given lines.
func goStageDockerfile(lines ...string) string {
	return "FROM golang:1.26-alpine AS b\nWORKDIR /src\n" + strings.Join(lines, "\n") + "\nFROM scratch AS app\nCOPY --from=b /out/app /\n"
}

const bind = "RUN --mount=type=bind,target=. --mount=type=cache,target=/root/.cache/go-build "

func TestGoInputs(t *testing.T) {
	guide, err := os.ReadFile("../testdata/greeter.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	linux := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	tests := []struct {
		name       string
		dockerfile string
		stage      string // "app" when empty
		args       map[string]string
		platform   *ocispecs.Platform
		files      map[string]string
		want       string // describeInputs
		wantErr    string // substring of the UnknownInputsError
	}{
		// The guide's Dockerfile.
		{name: "guide server", dockerfile: string(guide), stage: "server",
			want: "dir=. pkgs=./cmd/server flags= env=CGO_ENABLED=0,GOARCH=amd64,GOOS=linux mod=go.mod\nreads=go.mod,go.sum"},
		{name: "guide client", dockerfile: string(guide), stage: "client",
			want: "dir=. pkgs=./cmd/client flags= env=CGO_ENABLED=0,GOARCH=amd64,GOOS=linux mod=go.mod\nreads=go.mod,go.sum"},
		{name: "guide binaries", dockerfile: string(guide), stage: "binaries",
			want: "dir=. pkgs=./cmd/client flags= env=CGO_ENABLED=0,GOARCH=amd64,GOOS=linux mod=go.mod\ndir=. pkgs=./cmd/server flags= env=CGO_ENABLED=0,GOARCH=amd64,GOOS=linux mod=go.mod\nreads=go.mod,go.sum"},
		{name: "guide build stage", dockerfile: string(guide), stage: "build-server",
			want: "dir=. pkgs=./cmd/server flags= env=CGO_ENABLED=0,GOARCH=amd64,GOOS=linux mod=go.mod\nreads=go.mod,go.sum"},
		{name: "unknown stage", dockerfile: string(guide), stage: "nope", wantErr: `no stage "nope"`},
		{name: "no go build reads nothing", dockerfile: "FROM alpine AS app\nRUN echo hi\n", want: ""},

		// The -tags of the reproduction, and every way to set them.
		{name: "-tags flag", dockerfile: goStageDockerfile(bind + "go build -tags prod -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "-tags= flag", dockerfile: goStageDockerfile(bind + "go build --tags=prod,x -o=/out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod,x env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "GOFLAGS in ENV", dockerfile: goStageDockerfile("ENV GOFLAGS=-tags=prod", bind+"go build -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "GOFLAGS quoted, flags of other commands left out", dockerfile: goStageDockerfile(`ENV GOFLAGS="-tags=prod -mod=vendor -count=1"`, bind+"go build -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod,-mod=vendor env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "GOFLAGS then the command line", dockerfile: goStageDockerfile("ENV GOFLAGS=-tags=a", bind+"go build -tags b -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=a,-tags=b env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "ARG with default", dockerfile: goStageDockerfile("ARG TAGS=prod", bind+"go build -tags $TAGS -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "build arg", dockerfile: goStageDockerfile("ARG TAGS", bind+"go build -tags $TAGS -o /out/app ./cmd/server"),
			args: map[string]string{"TAGS": "prod"},
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "build arg beats the default", dockerfile: goStageDockerfile("ARG TAGS=dev", bind+`go build -tags "${TAGS}" -o /out/app ./cmd/server`),
			args: map[string]string{"TAGS": "prod"},
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "global ARG", dockerfile: "ARG TAGS=prod\n" + goStageDockerfile("ARG TAGS", bind+"go build -tags $TAGS -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "ARG as GOFLAGS", dockerfile: goStageDockerfile("ARG GOFLAGS=-tags=prod", bind+"go build -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "ARG without a value is not set", dockerfile: goStageDockerfile("ARG GOFLAGS", bind+"go build -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "ARG with no value referenced", dockerfile: goStageDockerfile("ARG TAGS", bind+"go build -tags $TAGS -o /out/app ./cmd/server"),
			wantErr: "Dockerfile:4: go build -tags $TAGS has no value (ARG TAGS on line 3 has no default and no build arg)"},
		{name: "variable never set", dockerfile: goStageDockerfile(bind + "go build -tags=$TAGS -o /out/app ./cmd/server"),
			wantErr: "-tags=$TAGS has no value"},
		{name: "ENV from an unknown variable", dockerfile: goStageDockerfile("ENV GOFLAGS=-tags=$X", bind+"go build -o /out/app ./cmd/server"),
			wantErr: "GOFLAGS has no known value"},
		{name: "inline GOFLAGS", dockerfile: goStageDockerfile(bind + "GOFLAGS=-tags=prod go build -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "inline env through env(1)", dockerfile: goStageDockerfile(bind + "env CGO_ENABLED=1 GOOS=darwin go build -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags= env=CGO_ENABLED=1,GOARCH=amd64,GOOS=darwin mod=go.mod"},
		{name: "export earlier in the RUN", dockerfile: goStageDockerfile(bind + "export GOFLAGS=-tags=prod && go build -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "assignment then export", dockerfile: goStageDockerfile(bind + "GOFLAGS=-tags=prod; export GOFLAGS; go build -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "unexported shell variable is not go's", dockerfile: goStageDockerfile(bind + "GOFLAGS=-tags=x; TAGS=prod; go build -tags $TAGS -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "sh -c with flags", dockerfile: goStageDockerfile(bind + `sh -c 'CGO_ENABLED=0 go build -trimpath -tags "a b" -o /x ./cmd/server && go install ./tools/gen'`), stage: "b",
			want: "dir=. pkgs=./cmd/server flags=-tags=a b env=CGO_ENABLED=0,GOARCH=amd64,GOOS=linux mod=go.mod\ndir=. pkgs=./tools/gen flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "heredoc", dockerfile: goStageDockerfile("RUN --mount=type=bind,target=. <<EOF", "export GOFLAGS=-tags=prod", "go build -o /out/app ./cmd/server", "EOF"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "exec form", dockerfile: goStageDockerfile(`RUN --mount=type=bind,target=. ["go", "build", "-tags", "prod", "-o", "/out/app", "./cmd/server"]`),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "command substitution in -tags", dockerfile: goStageDockerfile(bind + "go build -tags $(cat tags.txt) -o /out/app ./cmd/server"),
			wantErr: "-tags $(cat tags.txt) runs a command"},
		{name: "command substitution in -ldflags is harmless", dockerfile: goStageDockerfile(bind + `go build -ldflags "-X main.built=$(date +%s)" -o /out/app ./cmd/server`),
			want: "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "a command reading the context in -ldflags", dockerfile: goStageDockerfile(bind + `go build -ldflags "-X main.v=$(git describe)" -o /out/app ./cmd/server`),
			wantErr: "RUN runs git, which may read any file it sees"},
		{name: "sourced script", dockerfile: goStageDockerfile(bind + ". scripts/env.sh && go build -tags $TAGS -o /out/app ./cmd/server"),
			wantErr: ". runs a script devloop does not follow"},
		{name: "loop variable", dockerfile: goStageDockerfile(bind + "for d in server client; do go build -o /out/$d ./cmd/$d; done"),
			wantErr: "./cmd/$d has no value ($d is a loop variable)"},
		{name: "set in an if", dockerfile: goStageDockerfile(bind + "if [ -f prod ]; then export GOFLAGS=-tags=prod; fi; go build -o /out/app ./cmd/server"),
			wantErr: "GOFLAGS has no known value ($GOFLAGS is set in an if)"},
		{name: "same in both branches", dockerfile: goStageDockerfile(bind + "if [ -f prod ]; then T=prod; else T=prod; fi; go build -tags $T -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod\nreads=prod"},

		// Platform.
		{name: "platform ARGs", dockerfile: goStageDockerfile("ARG TARGETOS TARGETARCH", bind+"GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/server"),
			platform: &ocispecs.Platform{OS: "linux", Architecture: "arm64"},
			want:     "dir=. pkgs=./cmd/server flags= env=GOARCH=arm64,GOOS=linux mod=go.mod"},
		{name: "the target platform by default", dockerfile: goStageDockerfile(bind + "go build -o /out/app ./cmd/server"),
			platform: &ocispecs.Platform{OS: "linux", Architecture: "arm", Variant: "v7"},
			want:     "dir=. pkgs=./cmd/server flags= env=GOARCH=arm,GOOS=linux mod=go.mod"},
		{name: "GOOS in ENV", dockerfile: goStageDockerfile("ENV GOOS=darwin GOARCH=arm64", bind+"go build -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags= env=GOARCH=arm64,GOOS=darwin mod=go.mod"},
		{name: "FROM --platform", dockerfile: "FROM --platform=linux/s390x golang AS b\nWORKDIR /src\n" + bind + "go build -o /out/app ./cmd/server\nFROM scratch AS app\nCOPY --from=b /out/app /\n",
			want: "dir=. pkgs=./cmd/server flags= env=GOARCH=s390x,GOOS=linux mod=go.mod"},
		{name: "platform unknown", dockerfile: goStageDockerfile(bind + "go build -o /out/app ./cmd/server"),
			platform: &ocispecs.Platform{}, wantErr: "platform is unknown"},
		{name: "GO111MODULE=off", dockerfile: goStageDockerfile("ENV GO111MODULE=off", bind+"go build -o /out/app ./cmd/server"),
			wantErr: "GOPATH mode"},

		// Flags.
		{name: "-mod=vendor", dockerfile: goStageDockerfile(bind + "go build -mod=vendor -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-mod=vendor env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "-mod=mod is asked read-only", dockerfile: goStageDockerfile(bind + "go build -mod mod -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-mod=readonly env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "-modfile mapped to the host", dockerfile: goStageDockerfile(bind + "go build -modfile=go.dev.mod -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-modfile=<ctx>/go.dev.mod env=GOARCH=amd64,GOOS=linux mod=go.mod\nreads=go.dev.mod,go.dev.sum"},
		{name: "-pgo profile", dockerfile: goStageDockerfile(bind + "go build -pgo=profiles/cpu.pprof -buildvcs=false -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod\nreads=profiles/cpu.pprof"},
		{name: "-toolexec", dockerfile: goStageDockerfile(bind + "go build -toolexec /usr/bin/wrap -o /out/app ./cmd/server"),
			wantErr: "go build -toolexec is not followed"},
		{name: "-race", dockerfile: goStageDockerfile(bind + "go build -race -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-race env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "-overlay", dockerfile: goStageDockerfile(bind + "go build -overlay=o.json -o /out/app ./cmd/server"),
			wantErr: "go build -overlay is not followed"},
		{name: "unknown flag", dockerfile: goStageDockerfile(bind + "go build -frobnicate -o /out/app ./cmd/server"),
			wantErr: "go build flag -frobnicate is not known"},
		{name: "-C", dockerfile: goStageDockerfile(bind + "go build -C cmd/server -o /out/app ."),
			want: "dir=cmd/server pkgs=. flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "cd", dockerfile: goStageDockerfile(bind + "cd cmd/server && go build -o /out/app"),
			want: "dir=cmd/server pkgs=. flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "import path and pattern", dockerfile: goStageDockerfile(bind + "go build -o /out/ example.com/m/cmd/server ./internal/..."),
			want: "dir=. pkgs=example.com/m/cmd/server,./internal/... flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "absolute container path", dockerfile: goStageDockerfile(bind + "go build -o /out/app /src/cmd/server"),
			want: "dir=. pkgs=<ctx>/cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "go install module@version reads nothing", dockerfile: goStageDockerfile(bind + "go install example.com/tool@v1.2.3"), want: ""},
		{name: "go env -w", dockerfile: goStageDockerfile("RUN go env -w GOFLAGS=-tags=prod", bind+"go env -w GOFLAGS=-tags=prod && go build -o /out/app ./cmd/server"),
			wantErr: "go env -w changes the go command's defaults"},
		{name: "a go build that sees no context", dockerfile: goStageDockerfile("RUN go build -o /out/app example.com/tool"), want: ""},

		// Where the module is.
		{name: "go.mod and packages copied separately", dockerfile: goStageDockerfile("COPY go.mod go.sum ./", "RUN go mod download", "COPY cmd/ cmd/", "COPY internal/ internal/", "RUN go build -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod\nreads=go.mod,go.sum"},
		{name: "a module in a subdirectory", dockerfile: goStageDockerfile("COPY app/ ./", "RUN go build -o /out/app ./cmd/x"),
			want: "dir=app pkgs=./cmd/x flags= env=GOARCH=amd64,GOOS=linux mod=app/go.mod"},
		{name: "a tree the host does not have", dockerfile: goStageDockerfile("COPY go.mod ./", "COPY src/ ./", "RUN go build -o /out/app ./cmd/server"),
			wantErr: "/src holds src of the build context, which the host has at ."},
		{name: "generated code from another stage", dockerfile: "FROM alpine AS gen\nRUN mkdir -p /out/pb\n" + goStageDockerfile("COPY . .", "COPY --from=gen /out/pb internal/pb", "RUN go build -o /out/app ./cmd/server"),
			wantErr: "/src/internal/pb comes from stage gen"},
		{name: "a RUN writes into the tree", dockerfile: goStageDockerfile("COPY . .", "RUN cp config/app.yaml internal/shared/app.go", "RUN go build -o /out/app ./cmd/server"),
			wantErr: "the RUN at line 4 may change files under /src"},
		{name: "a module proxy in the context", dockerfile: goStageDockerfile("COPY . .", "RUN GOPROXY=file:///src/proxy go mod download", "RUN GOPROXY=off go build -o /out/app ./cmd/server"),
			wantErr: "RUN runs go with GOPROXY=file:///src/proxy, which may read any file it sees"},
		{name: "a module proxy in the context, set by ENV", dockerfile: goStageDockerfile("ENV GOPROXY=file:///src/proxy", "COPY . .", "RUN go mod download", "RUN go build -o /out/app ./cmd/server"),
			wantErr: "RUN runs go with GOPROXY=file:///src/proxy, which may read any file it sees"},
		{name: "a RUN with a command devloop does not know", dockerfile: goStageDockerfile("COPY . .", "RUN make generate", "RUN go build -o /out/app ./cmd/server"),
			wantErr: "RUN runs make, which may read any file it sees"},
		{name: "a mount of another image reads no context", dockerfile: goStageDockerfile("RUN --mount=type=bind,from=other,target=. go build -o /out/app ./cmd/server"),
			want: ""},
		{name: "go.mod from a mount of a stage", dockerfile: "FROM scratch AS src\nCOPY . /\n" + goStageDockerfile("RUN --mount=type=bind,from=src,target=. go build -o /out/app ./cmd/server"),
			wantErr: "/src/go.mod may come from a bind mount of src"},
		{name: "workspace", dockerfile: goStageDockerfile(bind + "go build -o /out/app ./cmd/server"),
			files: map[string]string{"go.work": "go 1.26\n\nuse .\n"},
			want:  "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod work=go.work"},
		{name: "GOWORK=off", dockerfile: goStageDockerfile("ENV GOWORK=off", bind+"go build -o /out/app ./cmd/server"),
			files: map[string]string{"go.work": "go 1.26\n\nuse .\n"},
			want:  "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		// Wrappers and shells, followed by the walker the cache-mount lint shares.
		{name: "exec -a", dockerfile: goStageDockerfile(bind + "exec -a builder go build -tags prod -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "GNU time with options", dockerfile: goStageDockerfile(bind + "/usr/bin/time -f %e -o /tmp/t go build -tags prod -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "command -p", dockerfile: goStageDockerfile(bind + "command -v go && command -p go build -tags prod -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "nice -n", dockerfile: goStageDockerfile(bind + "nice -n 10 go build -tags prod -o /out/app ./cmd/server"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "a wrapper option devloop does not know", dockerfile: goStageDockerfile(bind + "/usr/bin/time --frobnicate go build -o /out/app ./cmd/server"),
			wantErr: "time option --frobnicate is not followed"},
		{name: "sh reading a here-document", dockerfile: goStageDockerfile("RUN --mount=type=bind,target=. sh -e <<EOF", "export GOFLAGS=-tags=prod", "go build -o /out/app ./cmd/server", "EOF"),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "sh reading a pipe", dockerfile: goStageDockerfile(bind + "echo 'go build ./cmd/server' | sh"),
			wantErr: "RUN runs sh with a script file"},
		{name: "bash -o pipefail -c", dockerfile: goStageDockerfile(bind + `bash -o pipefail -c "go build -tags prod -o /out/app ./cmd/server && echo built"`),
			want: "dir=. pkgs=./cmd/server flags=-tags=prod env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "not a POSIX shell", dockerfile: goStageDockerfile(`SHELL ["pwsh", "-c"]`, bind+"go build -o /out/app ./cmd/server"),
			wantErr: "SHELL pwsh -c is not followed"},

		// What else reaches the target.
		{name: "context files in the target's image", dockerfile: goStageDockerfile(bind+"go build -o /out/app ./cmd/server") + "COPY config/ /etc/app/\nCOPY assets/a.txt /assets/\n",
			want: "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod\nreads=assets/a.txt,config"},
		{name: "the whole context in the target's image", dockerfile: goStageDockerfile("COPY . .", "RUN go build -o /out/app ./cmd/server"), stage: "b",
			wantErr: "Dockerfile:3: COPY . . puts the whole build context into the image"},
		{name: "context files copied from a build stage", dockerfile: goStageDockerfile("COPY . .", "RUN go build -o /out/app ./cmd/server") + "COPY --from=b /src/assets /assets\n",
			want: "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod\nreads=assets"},
		{name: "a whole build stage copied", dockerfile: goStageDockerfile("COPY . .", "RUN go build -o /out/app ./cmd/server") + "COPY --from=b /src /src\n",
			wantErr: "COPY --from=b /src copies the whole build context"},
		{name: "files a RUN reads", dockerfile: goStageDockerfile(bind + "go build -o /out/app ./cmd/server && cp config/app.yaml /out/"),
			want: "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod\nreads=config/app.yaml"},
		{name: "a RUN that may read anything", dockerfile: goStageDockerfile(bind + "go build -o /out/app ./cmd/server && ./post-process /out/app"),
			wantErr: "RUN runs post-process, which may read any file it sees"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := goInputsContext(t, tt.files)
			platform := linux
			if tt.platform != nil {
				platform = *tt.platform
			}
			checkInputs(t, ctx, tt.dockerfile, Options{Stage: cmp.Or(tt.stage, "app"), Context: ctx, BuildArgs: tt.args, Platform: platform}, tt.want, tt.wantErr)
		})
	}
}

// checkInputs writes dockerfile, runs InputsOf with opt and checks the answer
// (describeInputs) or the UnknownInputsError it contains wantErr in.
func checkInputs(t *testing.T, ctx, dockerfileText string, opt Options, want, wantErr string) {
	t.Helper()
	d := parseDockerfile(t, dockerfileText)
	in, err := InputsOf(d, opt)
	if wantErr != "" {
		var ue *UnknownInputsError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("InputsOf error = %v, want an UnknownInputsError containing %q (inputs %+v)", err, wantErr, in)
		}
		return
	}
	if err != nil {
		t.Fatalf("InputsOf: %v", err)
	}
	if got := describeInputs(in, ctx); got != want {
		t.Errorf("InputsOf =\n%s\nwant\n%s", got, want)
	}
}

func TestBuildConfigs(t *testing.T) {
	tests := []struct {
		b    Build
		want string
	}{
		{Build{Env: map[string]string{"GOOS": "linux", "CGO_ENABLED": "0"}}, "0"},
		{Build{Env: map[string]string{"GOOS": "linux"}}, "1,0"},
		{Build{Env: map[string]string{"GOOS": "linux"}, Flags: []string{"-race"}}, "1"},
	}
	for _, tt := range tests {
		var got []string
		for _, env := range tt.b.Configs() {
			got = append(got, env["CGO_ENABLED"])
			if env["GOOS"] != "linux" {
				t.Errorf("Configs lost GOOS: %v", env)
			}
		}
		if strings.Join(got, ",") != tt.want {
			t.Errorf("Configs(%v) CGO_ENABLED = %v, want %s", tt.b, got, tt.want)
		}
	}
}

func TestSplitGoFlags(t *testing.T) {
	for in, want := range map[string]string{
		"-tags=a -mod=vendor":        "-tags=a|-mod=vendor",
		`  "-tags=a b"   -trimpath `: "-tags=a b|-trimpath",
		`-ldflags='-X a=b'`:          "-ldflags=-X a=b",
		"":                           "",
	} {
		got, err := splitGoFlags(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("splitGoFlags(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
	if _, err := splitGoFlags(`"-tags=a`); err == nil {
		t.Errorf("splitGoFlags with an open quote: no error")
	}
}
