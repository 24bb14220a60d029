package initconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devloop/devloop/dockerfile"
)

// project writes a Go module with cmd/app and cmd/server, and dockerfile, and
// parses it.
func project(t *testing.T, content string) (*dockerfile.Dockerfile, string) {
	t.Helper()
	dir := t.TempDir()
	for name, data := range map[string]string{
		"Dockerfile":         content,
		"go.mod":             "module example.com/shop/v2\n\ngo 1.26\n",
		"main.go":            "package main\n\nfunc main() {}\n",
		"cmd/app/main.go":    "package main\n\nfunc main() {}\n",
		"cmd/server/main.go": "package main\n\nfunc main() {}\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := dockerfile.NewCache().Load(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	return d, dir
}

// describe renders a proposal: a line per target, "#" first for an aggregate.
func describe(p Proposal) string {
	var lines []string
	for _, t := range p.Targets {
		lines = append(lines, describeTarget(t))
	}
	if s := p.Suggestion; s != nil {
		lines = append(lines, "suggest "+strings.Join(s.Dockerfile, " / ")+" → "+describeTarget(s.Target))
	}
	return strings.Join(lines, "\n")
}

func describeTarget(t Target) string {
	s := fmt.Sprintf("%s stage=%s output=%s files=%s", t.Name, t.Stage, t.Output, strings.Join(t.Files, ","))
	if t.Aggregate {
		s = "#" + s
	}
	if len(t.Dirs) > 0 {
		s += " dirs=" + strings.Join(t.Dirs, ",")
	}
	if t.Run != nil {
		s += fmt.Sprintf(" run=%q ready=%s", t.Run.Command, t.Run.Ready)
	}
	return s
}

const builder = "FROM golang:1.26-alpine AS builder\nWORKDIR /src\nCOPY . .\n"

// TestPropose: what init proposes for the export stages of real projects, in the
// shapes of issue 16 §2; each was missed, mislabelled or unbuildable before.
func TestPropose(t *testing.T) {
	tests := []struct {
		name, dockerfile, want string
	}{
		{"a bare FROM scratch at the end, with EXPOSE and ENTRYPOINT",
			builder + "RUN CGO_ENABLED=0 go build -o /app ./cmd/app\nFROM scratch\nCOPY --from=builder /app /\nEXPOSE 8080\nENTRYPOINT [\"/app\"]\n",
			`app stage=stage-1 output=bin files=bin/app run=["bin/app"] ready=tcp://127.0.0.1:8080`},
		{"a wildcard copy of the build's output",
			builder + "RUN go build -o /out/app ./cmd/app\nFROM scratch AS release\nCOPY --from=builder /out/app* /\nCMD [\"/app\", \"--listen\", \":9000\"]\nEXPOSE 9000/tcp 9001/udp\n",
			`release stage=release output=bin files=bin/app run=["bin/app" "--listen" ":9000"] ready=tcp://127.0.0.1:9000`},
		{"a directory copy with a slash",
			builder + "RUN go build -o /out/server ./cmd/server && go build -o /out/app ./cmd/app\nFROM scratch AS bins\nCOPY --from=builder /out/ /\n",
			`bins stage=bins output=bin files=bin/server,bin/app run=["bin/server"] ready=`},
		{"a directory copy without one lands its contents",
			builder + "RUN go build -o /out/app ./cmd/app\nFROM scratch AS app\nCOPY --from=builder /out /\n",
			"app stage=app output=bin files=bin/app"},
		{"a file in /usr/bin and a WORKDIR: a directory of its own",
			builder + "RUN go build -o /app ./cmd/app\nFROM scratch AS svc\nCOPY --from=builder /app /usr/bin/app\nWORKDIR /tmp\nENTRYPOINT [\"app\", \"serve\"]\n",
			`svc stage=svc output=out/svc files=out/svc/usr/bin/app dirs=out/svc/tmp run=["out/svc/usr/bin/app" "serve"] ready=`},
		{"under /bin: the project directory",
			builder + "RUN go install ./cmd/server\nFROM scratch AS server\nCOPY --from=builder /go/bin/server /bin/\nCMD /bin/server -addr :8080\n",
			`server stage=server output=. files=bin/server run=["bin/server" "-addr" ":8080"] ready=`},
		{"go build . names the executable after the module, without its major version",
			builder + "RUN go build -o /out/ .\nFROM scratch\nCOPY --from=builder /out/shop /\n",
			"shop stage=stage-1 output=bin files=bin/shop"},
		{"the guide's stages: binaries gathers the others",
			builder + "RUN go build -o /bin/app ./cmd/app\nFROM builder AS b2\nRUN go build -o /bin/server ./cmd/server\nFROM scratch AS app\nCOPY --from=builder /bin/app /bin/\nFROM scratch AS server\nCOPY --from=b2 /bin/server /bin/\nFROM scratch AS binaries\nCOPY --from=builder /bin/app /\nCOPY --from=b2 /bin/server /\n",
			"app stage=app output=. files=bin/app\n" + `server stage=server output=. files=bin/server run=["bin/server"] ready=` + "\n#binaries stage=binaries output=bin files=bin/app,bin/server"},
		{"an unnamed stage that is not the last cannot be a target",
			builder + "RUN go build -o /app ./cmd/app\nFROM scratch\nCOPY --from=builder /app /\nFROM scratch AS named\nCOPY --from=builder /app /bin/\n",
			"named stage=named output=. files=bin/app"},
		{"a stage that copies only from the context or an image is no target",
			builder + "RUN go build -o /app ./cmd/app\nFROM scratch AS certs\nCOPY --from=alpine:3 /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/\nFROM scratch AS app\nCOPY --from=builder /app /\n",
			"app stage=app output=bin files=bin/app"},
		{"the image is alpine: a stage to add is suggested",
			builder + "RUN go build -o /usr/local/bin/server ./cmd/server\nFROM alpine:3.20\nRUN apk add ca-certificates\nCOPY --from=builder /usr/local/bin/server /usr/local/bin/\nEXPOSE 8080\nENTRYPOINT [\"server\", \"--port\", \"8080\"]\n",
			`suggest FROM scratch AS server / COPY --from=builder /usr/local/bin/server / → server stage=server output=bin files=bin/server run=["bin/server" "--port" "8080"] ready=tcp://127.0.0.1:8080`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ctx := project(t, tt.dockerfile)
			if got := describe(Propose(d, ctx)); got != tt.want {
				t.Errorf("Propose =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestRender: the written devloop.yaml says where files land and where run: comes
// from; the unnamed last stage is written as stage-N with why.
func TestRender(t *testing.T) {
	d, ctx := project(t, builder+"RUN go build -o /app ./cmd/app\nFROM scratch\nCOPY --from=builder /app /usr/bin/app\nWORKDIR /tmp\nEXPOSE 8080\nENTRYPOINT [\"/usr/bin/app\", \"--addr\", \":8080\", \"true\"]\n")
	got := Render(Propose(d, ctx), ".", "Dockerfile")
	for _, want := range []string{
		"\ntargets:\n  app:\n",
		"    stage: stage-1             # the last stage (line 5), unnamed: BuildKit builds it when no target is given\n",
		"    output: out/app            # → ./out/app/usr/bin/app, and an empty ./out/app/tmp\n",
		`      command: [out/app/usr/bin/app, --addr, ":8080", "true"] # from ENTRYPOINT of stage-1 (line 5)` + "\n",
		"      ready: tcp://127.0.0.1:8080 # announce \"ready\" once this port accepts connections (EXPOSE)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Render() lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "context:") || strings.Contains(got, "dockerfile:") {
		t.Errorf("Render() sets context or dockerfile for the defaults:\n%s", got)
	}
}

// TestRenderBuildArgs: the commented build_args example names the ARGs the Dockerfile
// declares, with their defaults, and never one it does not (a build arg no ARG
// declares does nothing); BuildKit's automatic platform ARGs are not build args to
// set. A Dockerfile without ARGs gets no made-up name.
func TestRenderBuildArgs(t *testing.T) {
	d, ctx := project(t, "ARG GO_VERSION=1.26\nFROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-alpine AS builder\nARG TARGETOS TARGETARCH\nARG VERSION=dev\nARG COMMIT\nARG GO_VERSION\nWORKDIR /src\nCOPY . .\nRUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags \"-X main.version=$VERSION\" -o /app ./cmd/app\nFROM scratch\nCOPY --from=builder /app /\n")
	got := Render(Propose(d, ctx), ".", "Dockerfile")
	for _, want := range []string{
		"\n# build_args:             # --build-arg for every target\n",
		"\n#   GO_VERSION: \"1.26\"     # ARG on line 1\n",
		"\n#   VERSION: \"dev\"         # ARG on line 4\n",
		"\n#   COMMIT: \"\"             # ARG on line 5, no default\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Render() lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{"APP_VERSION", "TARGETOS", "BUILDPLATFORM", "line 6"} {
		if strings.Contains(got, bad) {
			t.Errorf("Render() proposes %s as a build arg:\n%s", bad, got)
		}
	}

	d, ctx = project(t, builder+"RUN go build -o /app ./cmd/app\nFROM scratch\nCOPY --from=builder /app /\n")
	if got := Render(Propose(d, ctx), ".", "Dockerfile"); strings.Contains(got, "APP_VERSION") || !strings.Contains(got, "# build_args:") {
		t.Errorf("Render() of a Dockerfile without ARGs names a made-up build arg or none at all:\n%s", got)
	}
}
