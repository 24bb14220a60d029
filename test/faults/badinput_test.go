//go:build e2e && linux

package faults

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devloop/devloop/internal/e2etest"
)

const badInputDockerfile = `FROM alpine AS gen
ARG V=1
RUN mkdir -p /out && echo app $V > /out/app && chmod 755 /out/app

FROM scratch AS app
COPY --from=gen /out/ /bin/

FROM alpine AS ctxgen
RUN --mount=type=bind,target=/ctx mkdir -p /out && ls -R /ctx > /out/listing

FROM scratch AS ctx
COPY --from=ctxgen /out/ /bin/

FROM alpine AS libgen
RUN mkdir -p /out/lib && echo x > /out/lib/x

FROM scratch AS through-link
COPY --from=libgen /out/ /
`

// TestBadInput feeds devloop bad configurations and hostile builds (fault 7). Each must
// fail with a clear error (exit code, and a message naming the problem) and leave
// the project — ./bin above all — exactly as it was. The config fuzzer
// (config/fuzz_test.go, FuzzParse, 20s in `make test`) and the exporter's unit tests
// (TestCommitRefusesEscapes, TestCommitNeverWritesThroughLinks) cover malformed YAML
// and hostile staged trees in depth.
func TestBadInput(t *testing.T) {
	e2etest.RequireBuildKit(t)
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatal("setpriv (util-linux) is needed to run devloop without CAP_DAC_OVERRIDE, so that root cannot read a mode 000 directory")
	}
	dir := newProject(t, map[string]string{
		"Dockerfile":   badInputDockerfile,
		"devloop.yaml": "targets: {app: {output: .}}\n",
	})
	mustBuild(t, dir)
	bin := filepath.Join(dir, "bin")
	outside := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-outside")
	t.Cleanup(func() { os.RemoveAll(outside) })

	// replaceBin swaps ./bin for a regular file until the test ends.
	replaceBin := func(t *testing.T) {
		backup := bin + ".bak"
		if err := os.Rename(bin, backup); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, []byte("a regular file\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.Remove(bin); err != nil {
				t.Error(err)
			}
			if err := os.Rename(backup, bin); err != nil {
				t.Error(err)
			}
		})
	}
	// symlink makes link -> target until the test ends.
	symlink := func(t *testing.T, target, link string) {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.Remove(link); err != nil {
				t.Error(err)
			}
		})
	}
	readOnlyBin := func(t *testing.T) {
		if err := os.Chmod(bin, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := os.Chmod(bin, 0o755); err != nil {
				t.Error(err)
			}
		})
	}

	cases := []struct {
		name     string
		yaml     string
		setup    func(t *testing.T)
		noDAC    bool // run without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH
		wantCode int
		want     []string // in the output
	}{
		{
			name:     "missing stage names the stages that exist",
			yaml:     "targets: {app: {stage: no-such-stage, output: .}}\n",
			wantCode: 2,
			want:     []string{`"no-such-stage"`, "gen", "app", "ctxgen", "ctx", "libgen", "through-link"},
		},
		{
			name:     "missing Dockerfile",
			yaml:     "dockerfile: missing.Dockerfile\ntargets: {app: {output: .}}\n",
			wantCode: 2,
			want:     []string{"missing.Dockerfile", "no such file"},
		},
		{
			name: "unreadable directory in the context",
			yaml: "targets: {ctx: {output: .}}\n",
			setup: func(t *testing.T) {
				secret := filepath.Join(dir, "secret")
				if err := os.Mkdir(secret, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(secret, "key"), []byte("k\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(secret, 0); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if err := os.Chmod(secret, 0o755); err != nil {
						t.Error(err)
					}
					if err := os.RemoveAll(secret); err != nil {
						t.Error(err)
					}
				})
			},
			noDAC:    true,
			wantCode: 1,
			want:     []string{filepath.Join(dir, "secret"), "permission denied"},
		},
		{
			name:     "./bin is a regular file (output .)",
			yaml:     "build_args: {V: 2}\ntargets: {app: {output: .}}\n",
			setup:    replaceBin,
			wantCode: 1,
			want:     []string{bin, "not a directory"},
		},
		{
			name:     "./bin is a regular file (output bin)",
			yaml:     "targets: {app: {output: bin}}\n",
			setup:    replaceBin,
			wantCode: 2,
			want:     []string{bin, "regular file, not a directory"},
		},
		{
			name:     "./bin is read-only (output .)",
			yaml:     "build_args: {V: 2}\ntargets: {app: {output: .}}\n",
			setup:    readOnlyBin,
			wantCode: 1,
			want:     []string{bin, "read-only"},
		},
		{
			name:     "./bin is read-only (output bin)",
			yaml:     "build_args: {V: 2}\ntargets: {app: {output: bin}}\n",
			setup:    readOnlyBin,
			wantCode: 2,
			want:     []string{bin, "read-only"},
		},
		{
			name:     "output outside the project",
			yaml:     "targets: {app: {output: ../" + filepath.Base(outside) + "}}\n",
			wantCode: 2,
			want:     []string{"devloop.yaml:1:", "targets.app.output", "inside the project"},
		},
		{
			// Exported symlinks are written as they are, whatever their target
			// (TestExportSymlinks); what is refused is writing through one.
			name:     "a symlink in the output dir leads outside where the export has a directory",
			yaml:     "targets: {through-link: {output: .}}\n",
			setup:    func(t *testing.T) { symlink(t, outside, filepath.Join(dir, "lib")) },
			wantCode: 1,
			want:     []string{"exported directory lib: the output dir holds a symlink there that leads outside"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), tc.yaml)
			t.Cleanup(func() { e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), "targets: {app: {output: .}}\n") })
			if tc.setup != nil {
				tc.setup(t)
			}
			before := e2etest.TakeSnapshot(t, dir, e2etest.Dirs)
			var r result
			if tc.noDAC {
				r = e2etest.Run(t, dir, nil, setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", "--",
					devloopBin, "build", "--progress", "quiet")
			} else {
				r = runDevloop(t, dir, nil, "build", "--progress", "quiet")
			}
			if r.Code != tc.wantCode {
				t.Errorf("exit code %d, want %d\n%v", r.Code, tc.wantCode, r)
			}
			out := r.Stdout + r.Stderr
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%v", w, r)
				}
			}
			if strings.Contains(out, "panic:") {
				t.Errorf("devloop panicked:\n%v", r)
			}
			if d := e2etest.TakeSnapshot(t, dir, e2etest.Dirs).Diff(before); d != "" {
				t.Errorf("the project changed:\n%s", d)
			}
			if _, err := os.Lstat(outside); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s was created (err %v)", outside, err)
			}
			if left := stagingLeft(t, dir); len(left) > 0 {
				t.Errorf("staging dirs left: %v", left)
			}
			t.Logf("exit %d: %s", r.Code, firstLines(strings.TrimSpace(out), 4))
		})
	}
}
