package rebuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGoPackages(t *testing.T) {
	ctx := t.TempDir()
	for _, d := range []string{"cmd/server", "cmd/client", "tools/gen"} {
		if err := os.MkdirAll(filepath.Join(ctx, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	guide, err := os.ReadFile("testdata/greeter.Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		dockerfile string
		stage      string
		want       string // comma-separated dirs; "" with ok false
		wantOK     bool
	}{
		{"guide server", string(guide), "server", "cmd/server", true},
		{"guide client", string(guide), "client", "cmd/client", true},
		{"guide binaries", string(guide), "binaries", "cmd/client,cmd/server", true},
		{"guide build stage", string(guide), "build-server", "cmd/server", true},
		{"no go build", "FROM alpine AS app\nRUN echo hi\n", "app", "", false},
		{"unknown stage", string(guide), "nope", "", false},
		{"copy into workdir, default package", `FROM golang AS b
WORKDIR /app
COPY . .
RUN go build -o /out/app
FROM scratch AS app
COPY --from=b /out/app /
`, "app", ".", true},
		{"sh -c with flags", `FROM golang AS b
WORKDIR /src
RUN --mount=type=bind,target=. sh -c 'CGO_ENABLED=0 go build -trimpath -tags "a b" -o /x ./cmd/server && go install ./tools/gen'
`, "b", "cmd/server,tools/gen", true},
		{"import path is unknown", `FROM golang AS b
WORKDIR /src
RUN --mount=type=bind,target=. go build example.com/m/cmd/server
`, "b", "", false},
		{"wildcard is unknown", `FROM golang AS b
WORKDIR /src
RUN --mount=type=bind,target=. go build ./...
`, "b", "", false},
		{"package from another image is unknown", `FROM golang AS b
WORKDIR /src
RUN --mount=type=bind,from=other,target=. go build ./cmd/server
`, "b", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "Dockerfile")
			if err := os.WriteFile(p, []byte(tt.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			d, err := ParseDockerfile(p)
			if err != nil {
				t.Fatal(err)
			}
			dirs, ok := d.GoPackages(tt.stage, ctx)
			if got := strings.Join(dirs, ","); got != tt.want || ok != tt.wantOK {
				t.Errorf("GoPackages(%q) = %q, %v, want %q, %v", tt.stage, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
