package project

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/dockerfile"
	"github.com/devloop/devloop/execfile"
	"github.com/devloop/devloop/rebuild"
	"go.uber.org/zap"
)

// nativeDockerfile builds for the platform it runs on: it does not cross-compile.
const nativeDockerfile = `FROM golang:1.26-alpine AS build
WORKDIR /src
RUN --mount=type=bind,target=. --mount=type=cache,target=/root/.cache/go-build go build -o /out/server ./cmd/server
FROM scratch AS server
COPY --from=build /out/server /bin/
`

// platformProject is a project of targets on a linux/amd64 daemon, with the given
// Dockerfile.
func platformProject(t *testing.T, dockerfileContent string, targets ...*config.Target) *Project {
	t.Helper()
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte(dockerfileContent), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Dir: dir, Context: dir, Dockerfile: df, Targets: map[string]*config.Target{}}
	live := map[string]*config.Target{}
	for _, tg := range targets {
		if tg.Output == "" {
			tg.Output = dir
		}
		cfg.Targets[tg.Name], live[tg.Name] = tg, tg
	}
	p := &Project{cfg: cfg, dockerfiles: dockerfile.NewCache(), log: zap.NewNop(), warned: map[string]bool{},
		daemonPlatform: platforms.MustParse("linux/amd64")}
	p.live.Store(&liveState{cfg: cfg, targets: live})
	return p
}

func TestPlatformLabel(t *testing.T) {
	p := platformProject(t, nativeDockerfile,
		&config.Target{Name: "default"},
		&config.Target{Name: "daemons", Platforms: []string{"linux/amd64"}},
		&config.Target{Name: "darwin", Platforms: []string{"darwin/arm64"}},
		&config.Target{Name: "two", Platforms: []string{"linux/amd64", "darwin/arm64"}},
	)
	for target, want := range map[string]string{
		"default": "", "daemons": "", "darwin": "darwin/arm64", "two": "linux/amd64, darwin/arm64", "unknown": "",
	} {
		if got := p.PlatformLabel(target); got != want {
			t.Errorf("PlatformLabel(%s) = %q, want %q", target, got, want)
		}
	}
}

// The process of a target built for several platforms starts from its run
// platform's subdirectory.
func TestRunCommand(t *testing.T) {
	local := config.LocalPlatform()
	dir := t.TempDir()
	run := func(cmd ...string) *config.Run { return &config.Run{Command: cmd, Dir: dir} }
	tests := []struct {
		name      string
		output    string
		platforms []string
		run       *config.Run
		want      []string
	}{
		{"one platform: as written", dir, []string{"darwin/arm64"}, run("bin/server", "--addr", ":80"), []string{"bin/server", "--addr", ":80"}},
		{"several: the local platform's file", dir, []string{"windows/amd64", local}, run("bin/server", "-v"),
			[]string{filepath.Join(dir, rebuild.PlatformDir(local), "bin", "server"), "-v"}},
		{"several, output bin: bin/<platform>/server", filepath.Join(dir, "bin"), []string{local, "darwin/arm64"}, run("bin/server"),
			[]string{filepath.Join(dir, "bin", rebuild.PlatformDir(local), "server")}},
		{"several without the local one: the first's", dir, []string{"linux/s390x", "darwin/arm64"}, run("./bin/server"),
			[]string{filepath.Join(dir, "linux_s390x", "bin", "server")}},
		{"a program outside the output", filepath.Join(dir, "bin"), []string{local, "darwin/arm64"}, run("tools/wrap", "bin/server"),
			[]string{"tools/wrap", "bin/server"}},
		{"a program from PATH", dir, []string{local, "darwin/arm64"}, run("sh", "-c", "bin/server"), []string{"sh", "-c", "bin/server"}},
	}
	for _, tt := range tests {
		got := runCommand(&config.Target{Output: tt.output, Platforms: tt.platforms, Run: tt.run})
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: runCommand() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// The exported executables' headers, against the platforms asked for.
func TestCheckExecutables(t *testing.T) {
	self, err := os.Executable() // this test binary: an executable of this machine's platform
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	host, err := execfile.Read(self)
	if err != nil {
		t.Fatal(err)
	}
	local := config.LocalPlatform()
	stage := func(files ...string) string {
		dir := t.TempDir()
		for _, f := range files {
			p := filepath.Join(dir, filepath.FromSlash(f))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, exe, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	tests := []struct {
		name      string
		platforms []string
		staged    string
		want      string // the *PlatformError's message, "" for none
	}{
		{"the daemon's default: not checked", nil, stage("bin/server"), ""},
		{"local", []string{local}, stage("bin/server"), ""},
		{"another platform", []string{"windows/arm64"}, stage("bin/server", "bin/client"),
			"bin/client is an " + host.String() + ", not for windows/arm64; bin/server is an " + host.String() + ", not for windows/arm64; nothing was swapped"},
		{"several platforms, each its subdirectory", []string{local, "darwin/arm64"},
			stage(rebuild.PlatformDir(local)+"/bin/server", "darwin_arm64/bin/server"),
			"darwin_arm64/bin/server is an " + host.String() + ", not for darwin/arm64; nothing was swapped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := &config.Target{Name: "server", Platforms: tt.platforms}
			p := platformProject(t, nativeDockerfile, target)
			err := p.checkExecutables(target, tt.staged)
			var pe *PlatformError
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("checkExecutables() = %v, want nil", err)
			case tt.want != "" && (!errors.As(err, &pe) || err.Error() != tt.want):
				t.Errorf("checkExecutables() = %v\nwant a *PlatformError %q", err, tt.want)
			}
		})
	}
}

// A failed build for another platform says what to change in the Dockerfile: after
// the header check, and when the daemon found no image for the platform or could not
// run one of its programs.
func TestDescribePlatformFailure(t *testing.T) {
	darwin := &config.Target{Name: "server", Stage: "server", Platforms: []string{"darwin/arm64"}}
	native := &config.Target{Name: "native", Stage: "server"}
	p := platformProject(t, nativeDockerfile, darwin, native)
	advice := []string{
		"the Dockerfile does not cross-compile for darwin/arm64:",
		p.cfg.Dockerfile + ":1: FROM golang:1.26-alpine runs the go build on line 3 on the target platform (darwin/arm64), not the builder's (linux/amd64): there may be no image for darwin/arm64, or it runs only under emulation; run it on the builder's platform and let go build cross-compile",
		"    FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build",
		p.cfg.Dockerfile + ":3: go build does not compile for the target platform (darwin/arm64): GOOS and GOARCH are not set: it compiles for its stage's platform, which is the builder's (linux/amd64) once the stage runs there; set GOOS and GOARCH from TARGETOS and TARGETARCH",
		"    ARG TARGETOS TARGETARCH",
		"    RUN … GOOS=$TARGETOS GOARCH=$TARGETARCH go build …",
	}
	noMatch := errors.New("golang:1.26-alpine: failed to resolve source metadata for docker.io/library/golang:1.26-alpine: no match for platform in manifest: not found")
	tests := []struct {
		name      string
		err       error
		wantErr   string
		wantOther []string
	}{
		{"binaries of another platform",
			&PlatformError{Target: "server", Mismatches: []execfile.Mismatch{{Path: "bin/server", Info: execfile.Info{Format: execfile.ELF, OS: "linux", OSGuessed: true, Archs: []string{"amd64"}}, Want: "darwin/arm64"}}},
			"bin/server is an ELF executable for linux/amd64, not for darwin/arm64; nothing was swapped", advice},
		{"no image for the platform", &rebuild.BuildError{Target: "server", Err: noMatch}, noMatch.Error(), advice},
		{"exec format error under emulation", &rebuild.BuildError{Target: "server", Step: "[build 1/1] RUN go build", Logs: "exec /bin/sh: exec format error\n", Err: errors.New("exit code: 255")},
			"exit code: 255", append([]string{"exec /bin/sh: exec format error"}, advice...)},
		{"a compile error: no advice", &rebuild.BuildError{Target: "server", Err: errors.New("exit code: 1")}, "exit code: 1", nil},
		{"a native target: no advice", &rebuild.BuildError{Target: "native", Err: noMatch}, noMatch.Error(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := p.DescribeFailure(tt.err)
			if f.Err != tt.wantErr || !slices.Equal(f.Other, tt.wantOther) {
				t.Errorf("DescribeFailure() = %q, %q\nwant %q, %q", f.Err, strings.Join(f.Other, "\n"), tt.wantErr, strings.Join(tt.wantOther, "\n"))
			}
		})
	}
}

// The cross-compilation warnings are said once per session, for a target built for
// another platform only.
func TestWarnPlatforms(t *testing.T) {
	p := platformProject(t, nativeDockerfile,
		&config.Target{Name: "server", Stage: "server", Platforms: []string{"darwin/arm64"}},
		&config.Target{Name: "native", Stage: "server"})
	var out bytes.Buffer
	p.WarnPlatforms(&out)
	p.WarnPlatforms(&out)
	p.warnPlatform(&out, p.live.Load().targets["server"])
	want := "[devloop] warning: " + p.cfg.Dockerfile + ":1: FROM golang:1.26-alpine runs the go build on line 3 on the target platform (darwin/arm64), not the builder's (linux/amd64): there may be no image for darwin/arm64, or it runs only under emulation; run it on the builder's platform and let go build cross-compile\n" +
		"  FROM --platform=$BUILDPLATFORM golang:1.26-alpine AS build\n" +
		"[devloop] warning: " + p.cfg.Dockerfile + ":3: go build does not compile for the target platform (darwin/arm64): GOOS and GOARCH are not set: it compiles for its stage's platform, which is the builder's (linux/amd64) once the stage runs there; set GOOS and GOARCH from TARGETOS and TARGETARCH\n" +
		"  ARG TARGETOS TARGETARCH\n" +
		"  RUN … GOOS=$TARGETOS GOARCH=$TARGETARCH go build …\n"
	if out.String() != want {
		t.Errorf("warnings =\n%s\nwant\n%s", out.String(), want)
	}
}

// The file of a target's output its process runs.
func TestProgramOf(t *testing.T) {
	local := config.LocalPlatform()
	dir := t.TempDir()
	run := func(cmd ...string) *config.Run { return &config.Run{Command: cmd, Dir: dir} }
	tests := []struct {
		name      string
		output    string
		platforms []string
		run       *config.Run
		want      string
	}{
		{"output bin", filepath.Join(dir, "bin"), nil, run("bin/srv", "--addr", ":80"), filepath.Join(dir, "bin", "srv")},
		{"output .", dir, nil, run("./bin/srv"), filepath.Join(dir, "bin", "srv")},
		{"several platforms", filepath.Join(dir, "bin"), []string{local, "darwin/arm64"}, run("bin/srv"), filepath.Join(dir, "bin", rebuild.PlatformDir(local), "srv")},
		{"a program from PATH", dir, nil, run("sh", "-c", "bin/srv"), ""},
		{"a program outside the output", filepath.Join(dir, "bin"), nil, run("tools/wrap", "bin/srv"), ""},
		{"no run", dir, nil, nil, ""},
	}
	for _, tt := range tests {
		if got := programOf(&config.Target{Output: tt.output, Platforms: tt.platforms, Run: tt.run}); got != tt.want {
			t.Errorf("%s: programOf() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
