package rebuild

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/solver/pb"
)

// mkfiles returns the files the frontend input st makes: path → content.
func mkfiles(t *testing.T, st llb.State) map[string]string {
	t.Helper()
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		for _, a := range op.GetFile().GetActions() {
			if mk := a.GetMkfile(); mk != nil {
				files[mk.Path] = string(mk.Data)
			}
		}
	}
	return files
}

// TestSolveOptDockerfileSource: a dev build's source goes to the Dockerfile frontend
// as its "dockerfile" input, under the file's name, with the file's own
// .dockerignore; the file on disk is not read and not synced.
func TestSolveOptDockerfileSource(t *testing.T) {
	ctx := contextDir(t, "main.go")
	df := filepath.Join(ctx, "build", "Dockerfile.dev")
	if err := os.MkdirAll(filepath.Dir(df), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(df, []byte("FROM scratch\nCOPY . /\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := []byte("# syntax=docker/dockerfile:1\nFROM scratch\nCOPY main.go /\n")
	opt, err := solveOpt(Request{Context: ctx, Dockerfile: df, DockerfileSource: src})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := opt.LocalMounts["dockerfile"]; ok {
		t.Errorf("LocalMounts has a dockerfile mount with a DockerfileSource: %v", opt.LocalMounts)
	}
	if _, ok := opt.LocalMounts["context"]; !ok {
		t.Errorf("LocalMounts has no context mount: %v", opt.LocalMounts)
	}
	st, ok := opt.FrontendInputs["dockerfile"]
	if !ok {
		t.Fatalf("FrontendInputs = %v, want a dockerfile input", opt.FrontendInputs)
	}
	files := mkfiles(t, st)
	if len(files) != 1 || files["/Dockerfile.dev"] != string(src) {
		t.Errorf("the dockerfile input makes %q, want only /Dockerfile.dev with the source", files)
	}
	if opt.FrontendAttrs["filename"] != "Dockerfile.dev" {
		t.Errorf("filename = %q, want Dockerfile.dev", opt.FrontendAttrs["filename"])
	}

	// The Dockerfile's own ignore file goes along.
	if err := os.WriteFile(df+".dockerignore", []byte("*.md\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if opt, err = solveOpt(Request{Context: ctx, Dockerfile: df, DockerfileSource: src}); err != nil {
		t.Fatal(err)
	}
	files = mkfiles(t, opt.FrontendInputs["dockerfile"])
	if files["/Dockerfile.dev.dockerignore"] != "*.md\n" || files["/Dockerfile.dev"] != string(src) {
		t.Errorf("the dockerfile input makes %q, want the source and the ignore file", files)
	}

	// Without a source, the file's directory is synced as before.
	if opt, err = solveOpt(Request{Context: ctx, Dockerfile: df}); err != nil {
		t.Fatal(err)
	}
	if _, ok := opt.LocalMounts["dockerfile"]; !ok || len(opt.FrontendInputs) != 0 {
		t.Errorf("without a source: LocalMounts = %v, FrontendInputs = %v, want the dockerfile local only", opt.LocalMounts, opt.FrontendInputs)
	}
}
