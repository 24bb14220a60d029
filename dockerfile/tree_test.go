package dockerfile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// describeTree renders a tree: "path<-stage:source" per file ("dir/…" for a
// directory of unknown names, "ctx" for the context or an image), then the WORKDIR
// directories.
func describeTree(d *Dockerfile, t Tree) string {
	var out []string
	for _, f := range t.Files {
		p := f.Path
		if f.Dir {
			p += "/…"
		}
		from := "ctx"
		if f.Stage >= 0 {
			from = d.StageName(f.Stage)
		}
		out = append(out, fmt.Sprintf("%s<-%s:%s", p, from, f.Source))
	}
	if len(t.Dirs) > 0 {
		out = append(out, "dirs "+strings.Join(t.Dirs, ","))
	}
	return strings.Join(out, " ")
}

// TestStageTree: what an export stage holds, followed to the stage and path each
// file was made at — the shapes init met in real projects (issue 16 §2).
func TestStageTree(t *testing.T) {
	// The build stage's RUN on line 3 writes what produced says.
	const build = "FROM golang:1.26 AS build\nWORKDIR /src\nRUN go build -o /out/app ./cmd/app\n"
	outApp := func(stage int) []File {
		if stage == 0 {
			return []File{{Path: "/out/app", Line: 3}}
		}
		return nil
	}
	tests := []struct {
		name, content string
		produced      Produced
		want          string
	}{
		{"a file copied", build + "FROM scratch AS app\nCOPY --from=build /out/app /\n", outApp,
			"/app<-build:/out/app"},
		{"a wildcard", build + "FROM scratch AS app\nCOPY --from=build /out/app* /\n", outApp,
			"/app<-build:/out/app"},
		{"a directory with a slash", build + "FROM scratch AS app\nCOPY --from=build /out/ /\n", outApp,
			"/app<-build:/out/app"},
		{"a directory without one: its contents", build + "FROM scratch AS app\nCOPY --from=build /out /\n", outApp,
			"/app<-build:/out/app"},
		{"renamed, and a WORKDIR", build + "FROM scratch AS app\nCOPY --from=build /out/app /usr/bin/app\nWORKDIR /tmp\n", outApp,
			"/usr/bin/app<-build:/out/app dirs /tmp"},
		{"into a directory by index", build + "FROM scratch\nCOPY --from=0 /out/app /bin/\n", outApp,
			"/bin/app<-build:/out/app"},
		{"through a second stage", build + "FROM alpine AS rt\nCOPY --from=build /out/app /usr/local/bin/\nFROM scratch AS app\nCOPY --from=rt /usr/local/bin/app /app\n", outApp,
			"/app<-build:/out/app"},
		{"FROM a stage inherits its files", build + "FROM scratch AS base\nCOPY --from=build /out/app /bin/\nFROM base AS app\nCOPY config.yaml /etc/\n", outApp,
			"/bin/app<-build:/out/app /etc/config.yaml<-ctx:config.yaml"},
		{"a name the producing stage does not say, by spelling", build + "FROM scratch AS app\nCOPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/\nCOPY --from=build /static/ /www/\n", outApp,
			"/etc/ssl/certs/ca-certificates.crt<-build:/etc/ssl/certs/ca-certificates.crt /www/…<-build:/static"},
		{"an executable of unknown name", "FROM golang:1.26 AS build\nRUN go build -o /out/ ./cmd/...\nFROM scratch AS app\nCOPY --from=build /out/server /\n",
			func(stage int) []File { return []File{{Path: "/out", Dir: true, Line: 2}} },
			"/server<-build:/out/server"},
		{"several sources, workdir", "FROM golang:1.26 AS b\nRUN true\nFROM scratch AS out\nWORKDIR /opt\nCOPY --from=b /x/a /x/b bin/\nCOPY --from=b /x/dist/ /static/\nCOPY --from=b /x/*.so /lib/\nCOPY --from=b /x/c /etc/c.conf\n", nil,
			"/opt/bin/a<-b:/x/a /opt/bin/b<-b:/x/b /static/…<-b:/x/dist /lib/…<-b:/x/*.so /etc/c.conf<-b:/x/c dirs /opt"},
		{"an image", "FROM scratch AS app\nCOPY --from=alpine:3 /bin/busybox /bin/\n", nil,
			"/bin/busybox<-ctx:/bin/busybox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := writeDockerfile(t, tt.content)
			if got := describeTree(d, d.StageTree(len(d.Stages)-1, tt.produced)); got != tt.want {
				t.Errorf("StageTree =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestConfig: the ENTRYPOINT, CMD, EXPOSE and WORKDIR a stage's image runs with.
func TestConfig(t *testing.T) {
	tests := []struct {
		name, content string
		want          ImageConfig
	}{
		{"exec form", "FROM scratch\nEXPOSE 8080 9090/udp\nENTRYPOINT [\"/app\", \"serve\"]\nCMD [\"--addr\", \":8080\"]\n",
			ImageConfig{Entrypoint: []string{"/app", "serve"}, Cmd: []string{"--addr", ":8080"}, Expose: []string{"8080", "9090/udp"}, Known: true}},
		{"shell form, SHELL, ARG in EXPOSE", "FROM scratch\nARG PORT=3000\nSHELL [\"/bin/bash\", \"-c\"]\nEXPOSE $PORT\nCMD /app --port $PORT\n",
			ImageConfig{Cmd: []string{"/bin/bash", "-c", "/app --port $PORT"}, Expose: []string{"3000"}, Known: true}},
		{"inherited, ENTRYPOINT resets CMD", "FROM scratch AS base\nCMD [\"x\"]\nWORKDIR /srv\nFROM base\nENTRYPOINT [\"/app\"]\n",
			ImageConfig{Entrypoint: []string{"/app"}, WorkingDir: "/srv", Known: true}},
		{"an image's own is unknown", "FROM alpine\nEXPOSE 80\n",
			ImageConfig{Expose: []string{"80"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := writeDockerfile(t, tt.content)
			if got := d.Config(len(d.Stages) - 1); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Config = %+v, want %+v", got, tt.want)
			}
		})
	}
}
