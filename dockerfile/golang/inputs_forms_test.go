package golang

import (
	"cmp"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devloop/devloop/dockerfile"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// formsDockerfile is a build stage b (WORKDIR /src, the whole context copied)
// running lines, and the export stages the cases target: server and client copy
// one executable each from b's /out, both copies /out, s copies /out/s*.
func formsDockerfile(lines ...string) string {
	return "FROM golang:1.26-alpine AS b\nWORKDIR /src\nCOPY . .\n" + strings.Join(lines, "\n") + `
FROM scratch AS server
COPY --from=b /out/server /
FROM scratch AS client
COPY --from=b /out/client /
FROM scratch AS both
COPY --from=b /out/ /
FROM scratch AS s
COPY --from=b /out/s* /
`
}

// TestGoInputsForms: the go build and go install forms of real projects, and each
// target getting the packages of the executables it exports (issue 16 §4). Every
// case failed before: unknown inputs, a go list error, or the union of the stage's
// builds.
func TestGoInputsForms(t *testing.T) {
	const (
		server = "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"
		client = "dir=. pkgs=./cmd/client flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"
	)
	linux := ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	arm64 := ocispecs.Platform{OS: "linux", Architecture: "arm64"}
	tests := []struct {
		name       string
		dockerfile string
		stage      string
		args       map[string]string
		platform   *ocispecs.Platform
		want       string // describeInputs
		wantErr    string
	}{
		// Package arguments.
		{name: "files by a shell wildcard", stage: "server",
			dockerfile: formsDockerfile("RUN go build -o /out/server cmd/server/*"),
			want:       "dir=. pkgs=./cmd/server/main.go,./cmd/server/routes.go flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "a wildcard in a directory element", stage: "both",
			dockerfile: formsDockerfile("RUN go build -o /out/ /src/cmd/*/main.go"),
			want:       "dir=. pkgs=./cmd/client/main.go,./cmd/server/main.go flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "a file argument", stage: "server",
			dockerfile: formsDockerfile("RUN go build -o /out/server ./cmd/server/main.go"),
			want:       "dir=. pkgs=./cmd/server/main.go flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "an import path", stage: "server",
			dockerfile: formsDockerfile("RUN go build -o /out/server example.com/m/cmd/server"),
			want:       "dir=. pkgs=example.com/m/cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},

		// Several builds in one stage: each target gets the one whose file it exports.
		{name: "two builds, the server's", stage: "server",
			dockerfile: formsDockerfile("RUN go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client"),
			want:       server},
		{name: "two builds, the client's", stage: "client",
			dockerfile: formsDockerfile("RUN go build -o /out/server ./cmd/server", "RUN go build -o /out/client ./cmd/client"),
			want:       client},
		{name: "two builds, a directory copied", stage: "both",
			dockerfile: formsDockerfile("RUN go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client"),
			want:       server + "\n" + client},
		{name: "two builds, a wildcard copied", stage: "s",
			dockerfile: formsDockerfile("RUN go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client"),
			want:       server},
		{name: "one go build -o DIR/ of two packages", stage: "client",
			dockerfile: formsDockerfile("RUN go build -o /out/ ./cmd/server ./cmd/client"),
			want:       "dir=. pkgs=./cmd/client flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "go install of several import paths", stage: "server",
			dockerfile: formsDockerfile("RUN go install example.com/m/cmd/server example.com/m/cmd/client && mkdir /out && cp /go/bin/server /go/bin/client /out/"),
			want:       "dir=. pkgs=example.com/m/cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod\ndir=. pkgs=example.com/m/cmd/client flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "go install, the executable copied from GOPATH/bin",
			dockerfile: formsDockerfile("RUN go install ./cmd/server ./cmd/client") + "FROM scratch AS app\nCOPY --from=b /go/bin/client /\n",
			want:       client},
		{name: "go install with GOBIN",
			dockerfile: formsDockerfile("ENV GOBIN=/out", "RUN go install ./cmd/server ./cmd/client") + "FROM scratch AS app\nCOPY --from=b /out/server /\n",
			want:       server},
		{name: "go install cross-compiling: GOPATH/bin/GOOS_GOARCH",
			dockerfile: formsDockerfile("RUN GOARCH=arm64 go install ./cmd/server ./cmd/client") + "FROM scratch AS app\nCOPY --from=b /go/bin/linux_arm64/server /\n",
			want:       "dir=. pkgs=./cmd/server flags= env=GOARCH=arm64,GOOS=linux mod=go.mod"},
		{name: "go build without -o: the executable in the working directory",
			dockerfile: formsDockerfile("RUN go build ./cmd/server && go build ./cmd/client") + "FROM scratch AS app\nCOPY --from=b /src/client /\n",
			want:       client + "\nreads=client"}, // what /src/client would be if the context had it
		{name: "the module root's executable is named after the module path",
			dockerfile: formsDockerfile("RUN go build . && go build ./cmd/client") + "FROM scratch AS app\nCOPY --from=b /src/m /\n",
			want:       "dir=. pkgs=. flags= env=GOARCH=amd64,GOOS=linux mod=go.mod\nreads=m"},
		{name: "a major version suffix is not the name",
			dockerfile: formsDockerfile("RUN go install ./cmd/client ./cmd/tool/v2") + "FROM scratch AS app\nCOPY --from=b /go/bin/tool /\n",
			want:       "dir=. pkgs=./cmd/tool/v2 flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "through a stage that moves the file", stage: "app",
			dockerfile: formsDockerfile("RUN go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client") +
				"FROM b AS pack\nRUN mkdir -p /bin && cp /out/client /bin/client\nFROM scratch AS app\nCOPY --from=pack /bin/client /\n",
			want: client},
		{name: "through a stage that packs the directory", stage: "app",
			dockerfile: formsDockerfile("RUN go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client") +
				"FROM b AS pack\nRUN tar czf /release.tgz /out\nFROM scratch AS app\nCOPY --from=pack /release.tgz /\n",
			want: server + "\n" + client + "\nreads=czf"}, // tar's words are all taken for paths
		{name: "a later step that may read anything", stage: "app",
			dockerfile: formsDockerfile("RUN go build -o /out/server ./cmd/server && go build -o /out/client ./cmd/client") +
				"FROM alpine AS pack\nCOPY --from=b /out /out\nRUN /out/server --gen > /gen.txt\nFROM scratch AS app\nCOPY --from=pack /gen.txt /\n",
			want: server + "\n" + client},
		{name: "an output of unknown name counts for every target", stage: "client",
			dockerfile: formsDockerfile("ARG OUT", "RUN go build -o $OUT ./cmd/server && go build -o /out/client ./cmd/client"),
			want:       server + "\n" + client},
		{name: "a stage mounted by the RUN that builds the export",
			dockerfile: "FROM golang:1.26 AS gen\nWORKDIR /src\nCOPY . .\nRUN go build -o /out/gen ./tools/gen\n" +
				"FROM golang:1.26 AS b\nWORKDIR /src\nCOPY . .\nRUN --mount=type=bind,from=gen,source=/out,target=/tools go build -o /out/server ./cmd/server\n" +
				"FROM scratch AS app\nCOPY --from=b /out/server /\n",
			want: "dir=. pkgs=./tools/gen flags= env=GOARCH=amd64,GOOS=linux mod=go.mod\n" + server},

		// xx-go: the target platform as tonistiigi/xx derives it.
		{name: "xx-go with TARGETPLATFORM", stage: "server", platform: &arm64,
			dockerfile: "FROM --platform=$BUILDPLATFORM tonistiigi/xx AS xx\n" + strings.Replace(formsDockerfile("ARG TARGETPLATFORM", "RUN xx-go build -o /out/server ./cmd/server"),
				"FROM golang:1.26-alpine AS b\n", "FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS b\nCOPY --from=xx / /\n", 1),
			want: "dir=. pkgs=./cmd/server flags= env=GOARCH=arm64,GOOS=linux mod=go.mod"},
		{name: "xx-go without the platform ARGs: the step's own", stage: "server", platform: &arm64,
			dockerfile: formsDockerfile("RUN xx-go build -o /out/server ./cmd/server"),
			want:       "dir=. pkgs=./cmd/server flags= env=GOARCH=arm64,GOOS=linux mod=go.mod"},
		{name: "xx-go for arm/v6", stage: "server", platform: &ocispecs.Platform{OS: "linux", Architecture: "arm", Variant: "v6"},
			dockerfile: formsDockerfile("ARG TARGETPLATFORM", "RUN CGO_ENABLED=0 xx-go build -o /out/server ./cmd/server"),
			want:       "dir=. pkgs=./cmd/server flags= env=CGO_ENABLED=0,GOARCH=arm,GOARM=6,GOOS=linux mod=go.mod"},
		// xx-go --wrap writes GOOS and GOARCH into the go env file later go commands
		// read: they compile for the platform xx-go derives, unless their environment
		// says otherwise; xx-go --unwrap removes the file.
		{name: "xx-go --wrap", stage: "server",
			dockerfile: formsDockerfile("RUN xx-go --wrap && go build -o /out/server ./cmd/server"),
			want:       "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{name: "xx-go --wrap in an earlier RUN, with TARGETPLATFORM", stage: "server", platform: &arm64,
			dockerfile: formsDockerfile("ENV TARGETPLATFORM=windows/amd64", "RUN xx-go --wrap", "RUN go build -o /out/server ./cmd/server"),
			want:       "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=windows mod=go.mod"},
		{name: "xx-go --wrap, then GOOS in the environment", stage: "server", platform: &arm64,
			dockerfile: formsDockerfile("ENV TARGETPLATFORM=windows/amd64", "RUN xx-go --wrap", "RUN GOOS=darwin go build -o /out/server ./cmd/server"),
			want:       "dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=darwin mod=go.mod"},
		{name: "xx-go --unwrap", stage: "server", platform: &arm64,
			dockerfile: formsDockerfile("ENV TARGETPLATFORM=windows/amd64", "RUN xx-go --wrap", "RUN xx-go --unwrap && go build -o /out/server ./cmd/server"),
			want:       "dir=. pkgs=./cmd/server flags= env=GOARCH=arm64,GOOS=linux mod=go.mod"},
		{name: "xx-go --wrap with an unknown TARGETPLATFORM", stage: "server",
			dockerfile: formsDockerfile("ARG P", "ENV TARGETPLATFORM=linux/$P", "RUN xx-go --wrap", "RUN go build -o /out/server ./cmd/server"),
			wantErr:    "xx-go: $TARGETPLATFORM has no known value"},
		{name: "xx-go with an unknown TARGETPAIR", stage: "server",
			dockerfile: formsDockerfile("ARG ARCH", "ENV TARGETPAIR=linux-$ARCH", "RUN xx-go build -o /out/server ./cmd/server"),
			wantErr:    "xx-go: $TARGETPAIR has no known value (ENV TARGETPAIR=linux-$ARCH on line 5 has no value"},
		{name: "xx-go with TARGETPAIR unset: the platform ARGs", stage: "server", platform: &arm64,
			dockerfile: formsDockerfile("ARG TARGETPAIR", "ARG TARGETOS TARGETARCH", "RUN xx-go build -o /out/server ./cmd/server"),
			want:       "dir=. pkgs=./cmd/server flags= env=GOARCH=arm64,GOOS=linux mod=go.mod"},

		// A dependency warm-up before the sources are copied reads go.mod and go.sum.
		{name: "go install of dependencies before COPY . .", stage: "server",
			dockerfile: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN go mod download && go install golang.org/x/sys/unix example.com/dep/cmd/tool\nCOPY . .\nRUN go build -o /out/server ./cmd/server\nFROM scratch AS server\nCOPY --from=b /out/server /\n",
			want:       server + "\nreads=go.mod,go.sum"},
		{name: "go install $(go list …) before COPY . .", stage: "server",
			dockerfile: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY go.* ./\nRUN go install $(go list -m -f '{{.Path}}/...' all)\nCOPY . .\nRUN go build -o /out/server ./cmd/server\nFROM scratch AS server\nCOPY --from=b /out/server /\n",
			want:       server + "\nreads=go.dev.mod,go.mod,go.sum"},
		{name: "a warm-up that writes go.mod, restored by COPY . .", stage: "server",
			dockerfile: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN ./deps.sh\nCOPY . .\nRUN go build -o /out/server ./cmd/server\nFROM scratch AS server\nCOPY --from=b /out/server /\n",
			want:       server + "\nreads=go.mod,go.sum"},
		{name: "a warm-up that may write where the sources land keeps them unknown", stage: "server",
			dockerfile: "FROM golang:1.26 AS b\nWORKDIR /src\nCOPY go.mod go.sum ./\nRUN ./deps.sh\nCOPY cmd/ cmd/\nRUN go build -o /out/server ./cmd/server\nFROM scratch AS server\nCOPY --from=b /out/server /\n",
			wantErr:    "the RUN at line 4 may change files under /src (RUN runs deps.sh, which may read any file it sees)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := goInputsContext(t, map[string]string{
				"cmd/server/routes.go":  "package main\n",
				"cmd/server/.swap.go":   "package main\n", // the shell's * leaves it out
				"cmd/tool/v2/main.go":   "package main\n",
				"cmd/client/README.txt": "x\n",
			})
			platform := linux
			if tt.platform != nil {
				platform = *tt.platform
			}
			checkInputs(t, ctx, tt.dockerfile, Options{Stage: cmp.Or(tt.stage, "app"), Context: ctx, BuildArgs: tt.args, Platform: platform, BuildPlatform: linux}, tt.want, tt.wantErr)
		})
	}
}

// TestGoInputsLastStage: a target without a stage name builds the last stage
// (Options.Stage ""), whose TARGETSTAGE is its name, if any.
func TestGoInputsLastStage(t *testing.T) {
	ctx := goInputsContext(t, nil)
	for _, tt := range []struct{ dockerfile, want string }{
		{"FROM golang:1.26-alpine AS builder\nWORKDIR /src\nCOPY . .\nRUN go build -o /app ./cmd/server\nFROM scratch\nCOPY --from=builder /app /\n",
			"dir=. pkgs=./cmd/server flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
		{"FROM golang:1.26-alpine AS builder\nWORKDIR /src\nCOPY . .\nARG TARGETSTAGE\nRUN go build -o /$TARGETSTAGE ./cmd/$TARGETSTAGE\nFROM scratch AS client\nCOPY --from=builder /client /\n",
			"dir=. pkgs=./cmd/client flags= env=GOARCH=amd64,GOOS=linux mod=go.mod"},
	} {
		d, err := dockerfile.Parse(filepath.Join(ctx, "Dockerfile"), []byte(tt.dockerfile))
		if err != nil {
			t.Fatal(err)
		}
		in, err := InputsOf(d, Options{Context: ctx, Platform: ocispecs.Platform{OS: "linux", Architecture: "amd64"}})
		if err != nil {
			t.Fatalf("InputsOf(last stage): %v", err)
		}
		if got := describeInputs(in, ctx); got != tt.want {
			t.Errorf("InputsOf(last stage) =\n%s\nwant\n%s", got, tt.want)
		}
	}
}
