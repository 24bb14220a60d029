//go:build e2e && unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devloop/devloop/internal/e2etest"
)

// TestConfigProblemsFoundLater: devloop.yaml values that parse but turn out wrong
// once devloop looks at the Dockerfile, the files they name or the output directory
// are reported like parse errors, at their file:line:col with the field (the issue:
// a stage the Dockerfile lacks was the one error without a position), exit code 2.
func TestConfigProblemsFoundLater(t *testing.T) {
	e2etest.RequireBuildKit(t)
	tests := []struct {
		name  string
		yaml  string
		setup func(t *testing.T, dir string)
		want  string // the first line of stderr
	}{
		{
			name: "stage not in the Dockerfile",
			yaml: "targets:\n  out:\n    stage: no-such-stage\n    output: out\n",
			want: `devloop: devloop.yaml:3:12: targets.out.stage: stage "no-such-stage" not found in Dockerfile; its stages are: gen, out`,
		},
		{
			name: "stage by an index it does not have",
			yaml: "targets:\n  out:\n    output: out\n  server: {output: out, stage: stage-7}\n",
			want: `devloop: devloop.yaml:4:32: targets.server.stage: stage "stage-7" not found in Dockerfile; its stages are: gen, out`,
		},
		{
			name: "an unnamed stage that is not the last",
			yaml: "targets:\n  out:\n    stage: stage-0\n    output: out\n",
			setup: func(t *testing.T, dir string) {
				e2etest.WriteFile(t, filepath.Join(dir, "Dockerfile"), "FROM alpine\nRUN echo hi > /hello\nFROM scratch AS out\nCOPY --from=0 /hello /\n")
			},
			want: `devloop: devloop.yaml:3:12: targets.out.stage: stage "stage-0" is unnamed and not the last in Dockerfile (FROM on line 1): BuildKit builds an unnamed stage only when it is the last; name it (FROM … AS name) and set stage to that name`,
		},
		{
			name: "missing Dockerfile",
			yaml: "dockerfile: build/Missing.Dockerfile\ntargets:\n  out: {output: out}\n",
			want: `devloop: devloop.yaml:1:13: dockerfile: stat `,
		},
		{
			name: "missing context",
			yaml: "context: src\ntargets:\n  out: {output: out}\n",
			want: `devloop: devloop.yaml:1:10: context: build context `,
		},
		{
			name: "missing secret file",
			yaml: "secrets:\n  token: {file: token.txt}\ntargets:\n  out: {output: out}\n",
			want: `devloop: devloop.yaml:2:17: secrets.token.file: secret "token": failed to stat `,
		},
		{
			name: "secret file too big for BuildKit",
			yaml: "targets:\n  out: {output: out}\nsecrets:\n  big: {file: big.bin}\n",
			setup: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, 600<<10), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: `devloop: devloop.yaml:4:15: secrets.big.file: secret "big": secret big too big`,
		},
		{
			name: "cache spec the solve cannot use",
			yaml: "targets:\n  out:\n    output: out\n    cache:\n      from: [\"type=local,src\"]\n",
			want: `devloop: devloop.yaml:5:14: targets.out.cache.from[0]: invalid cache spec "type=local,src": invalid value src`,
		},
		{
			name: "output dir is a regular file",
			yaml: "targets:\n  out:\n    output: out\n",
			setup: func(t *testing.T, dir string) {
				if err := os.WriteFile(filepath.Join(dir, "out"), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want: `devloop: devloop.yaml:3:13: targets.out.output: output dir `,
		},
		{
			name: "unreadable TLS CA",
			yaml: "builder:\n  address: tcp://127.0.0.1:1\n  tls: {ca: certs/ca.pem}\ntargets:\n  out: {output: out}\n",
			want: `devloop: devloop.yaml:3:13: builder.tls.ca: open `,
		},
		{
			name: "plain-text remote builder",
			yaml: "builder:\n  address: tcp://192.0.2.1:1234\ntargets:\n  out: {output: out}\n",
			want: `devloop: devloop.yaml:2:12: builder.address: tcp://192.0.2.1:1234: refusing a plain-text connection`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tinyProject(t, tinyDockerfile, "")
			e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), tt.yaml)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			r := runDevloop(t, dir, "build", "--progress", "quiet")
			if r.Code != 2 {
				t.Errorf("exit code = %d, want 2 (invalid devloop.yaml)\n%v", r.Code, r)
			}
			if first, _, _ := strings.Cut(r.Stderr, "\n"); !strings.HasPrefix(first, tt.want) {
				t.Errorf("stderr's first line = %q, want it to start with %q", first, tt.want)
			}
		})
	}
}
