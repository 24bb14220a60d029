package rebuild

import (
	"errors"
	"fmt"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/moby/buildkit/client"
)

func TestSharedKey(t *testing.T) {
	a := t.TempDir()
	b := t.TempDir()
	tests := []struct {
		name string
		x, y string
		same bool
	}{
		{"same dir", a, a, true},
		{"unclean path of same dir", a, a + "/./", true},
		{"different dirs", a, b, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SharedKey(tt.x) == SharedKey(tt.y); got != tt.same {
				t.Errorf("SharedKey(%q) == SharedKey(%q) is %v, want %v", tt.x, tt.y, got, tt.same)
			}
		})
	}
}

func TestSolveOpt(t *testing.T) {
	ctx := t.TempDir()
	df := filepath.Join(ctx, "build", "Dockerfile.dev")
	if err := os.MkdirAll(filepath.Dir(df), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(df, []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := Request{
		Target: "server", Stage: "server", Context: ctx, Dockerfile: df,
		BuildArgs: map[string]string{"APP_VERSION": "1.2.3"},
		Excludes:  []string{".devloop", "bin/server"},
		CacheFrom: []string{"type=registry,ref=127.0.0.1:5000/cache"},
		CacheTo:   []string{"type=local,dest=/tmp/c,mode=max"},
		Dest:      "/tmp/stage",
	}
	opt, err := solveOpt(req)
	if err != nil {
		t.Fatal(err)
	}
	wantAttrs := map[string]string{"filename": "Dockerfile.dev", "target": "server", "build-arg:APP_VERSION": "1.2.3"}
	if !reflect.DeepEqual(opt.FrontendAttrs, wantAttrs) {
		t.Errorf("FrontendAttrs = %v, want %v", opt.FrontendAttrs, wantAttrs)
	}
	req.BuiltinFrontend = true
	if opt, err = solveOpt(req); err != nil {
		t.Fatal(err)
	}
	if _, ok := opt.FrontendAttrs["cmdline"]; !ok {
		t.Errorf("FrontendAttrs with BuiltinFrontend = %v, want a cmdline (it stops dockerfile.v0 forwarding to the syntax image)", opt.FrontendAttrs)
	}
	if opt.Frontend != "dockerfile.v0" {
		t.Errorf("Frontend = %q, want dockerfile.v0", opt.Frontend)
	}
	if opt.SharedKey != SharedKey(ctx) {
		t.Errorf("SharedKey = %q, want %q", opt.SharedKey, SharedKey(ctx))
	}
	if _, ok := opt.LocalMounts["context"]; !ok {
		t.Errorf("LocalMounts has no context mount: %v", opt.LocalMounts)
	}
	if _, ok := opt.LocalMounts["dockerfile"]; !ok {
		t.Errorf("LocalMounts has no dockerfile mount: %v", opt.LocalMounts)
	}
	wantExport := []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: "/tmp/stage"}}
	if !reflect.DeepEqual(opt.Exports, wantExport) {
		t.Errorf("Exports = %+v, want %+v", opt.Exports, wantExport)
	}
	if len(opt.CacheImports) != 1 || opt.CacheImports[0].Type != "registry" || opt.CacheImports[0].Attrs["ref"] != "127.0.0.1:5000/cache" {
		t.Errorf("CacheImports = %+v, want one registry import", opt.CacheImports)
	}
	if len(opt.CacheExports) != 1 || opt.CacheExports[0].Attrs["mode"] != "max" {
		t.Errorf("CacheExports = %+v, want one local export with mode=max", opt.CacheExports)
	}
}

// TestSolveOptExcludes checks that the extra excludes really filter the context that
// is sent to the daemon.
func TestSolveOptExcludes(t *testing.T) {
	ctx := contextDir(t, "Dockerfile", "main.go", "bin/server", ".devloop/staging/x")
	opt, err := solveOpt(Request{Context: ctx, Dockerfile: filepath.Join(ctx, "Dockerfile"), Excludes: []string{".devloop", "bin/server"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := contextFiles(t, opt)
	if got, want := strings.Join(seen, ","), "Dockerfile,main.go"; got != want {
		t.Errorf("context files = %s, want %s", got, want)
	}
}

// TestSolveOptSkip: Skip leaves paths out of the context walk by name, with the
// slash path relative to the context and whether it is a directory.
func TestSolveOptSkip(t *testing.T) {
	ctx := contextDir(t, "Dockerfile", "pkg/main.go", "pkg/.main.go.swp", "dir.swp/kept.go", ".git/HEAD", ".git/objects/ab/cd")
	if err := os.Symlink("user@host.1:1", filepath.Join(ctx, "pkg", ".#main.go")); err != nil {
		t.Fatal(err)
	}
	asked := map[string]bool{}
	skip := func(rel string, isDir bool) bool {
		asked[rel] = isDir
		return !isDir && (strings.HasSuffix(rel, ".swp") || strings.Contains(rel, "/.#")) || isDir && rel == ".git"
	}
	opt, err := solveOpt(Request{Context: ctx, Dockerfile: filepath.Join(ctx, "Dockerfile"), Skip: skip})
	if err != nil {
		t.Fatal(err)
	}
	seen := contextFiles(t, opt)
	if got, want := strings.Join(seen, ","), "Dockerfile,dir.swp/kept.go,pkg/main.go"; got != want {
		t.Errorf("context files = %s, want %s", got, want)
	}
	if isDir, ok := asked["dir.swp"]; !ok || !isDir {
		t.Errorf("Skip saw dir.swp as (dir %v, asked %v), want a directory", isDir, ok)
	}
	// A skipped directory is not descended into.
	for rel := range asked {
		if strings.HasPrefix(rel, ".git/") {
			t.Errorf("Skip was asked about %s, below the skipped directory .git", rel)
		}
	}
}

func TestCheckCacheSpec(t *testing.T) {
	tests := []struct {
		spec    string
		wantErr string
	}{
		{"type=registry,ref=x", ""},
		{"type=local,dest=/tmp/c,mode=max", ""},
		{`type=local,"src=/a,b"`, ""}, // CSV quoting
		{"ref=x", `has no "type="`},   // buildctl's legacy bare reference: refused
		{"example.com/app:cache", `has no "type="`},
		{"TYPE=registry,ref=x", `has no "type="`},
		{"type=local,dest", `invalid cache spec "type=local,dest": invalid value dest`}, // not key=value
		{"type=", "requires type="},
		{"ref=x,xtype=local", "requires type="},
		{`type=local,"src`, "invalid cache spec"}, // unterminated quote
	}
	for _, tt := range tests {
		err := CheckCacheSpec(tt.spec)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("CheckCacheSpec(%q) error = %v, want %q", tt.spec, err, tt.wantErr)
		}
	}
}

// The solve reads cache specs with the grammar CheckCacheSpec checks: buildctl's, which
// defaults an export's mode to min.
func TestSolveOptCacheSpecs(t *testing.T) {
	ctx := contextDir(t, "Dockerfile")
	req := Request{Context: ctx, Dockerfile: filepath.Join(ctx, "Dockerfile"),
		CacheFrom: []string{"type=local,src=/c"}, CacheTo: []string{"type=local,dest=/c"}}
	opt, err := solveOpt(req)
	if err != nil {
		t.Fatal(err)
	}
	want := []client.CacheOptionsEntry{{Type: "local", Attrs: map[string]string{"dest": "/c", "mode": "min"}}}
	if !reflect.DeepEqual(opt.CacheExports, want) {
		t.Errorf("CacheExports = %+v, want %+v", opt.CacheExports, want)
	}
	req.CacheFrom = []string{"ref=x"}
	if _, err := solveOpt(req); err == nil || !strings.Contains(err.Error(), `cache.from: cache spec "ref=x" has no "type="`) {
		t.Errorf("solveOpt with cache.from ref=x: error = %v, want the spec named", err)
	}
}

func TestMissingDockerfile(t *testing.T) {
	ctx := t.TempDir()
	_, err := solveOpt(Request{Context: ctx, Dockerfile: filepath.Join(ctx, "Dockerfile")})
	if err == nil || !strings.Contains(err.Error(), "Dockerfile") {
		t.Errorf("solveOpt without a Dockerfile: error = %v, want one naming the Dockerfile", err)
	}
}

func TestIsUnavailable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{status.Error(codes.Unavailable, "error reading from server: connection reset by peer"), true},
		{fmt.Errorf("solve: %w", status.Error(codes.Unavailable, "connection error")), true},
		{errors.New("Unavailable: error reading from server: connection reset by peer"), true},
		{status.Error(codes.Unknown, `failed to resolve source metadata for docker.io/library/golang:1.26-alpine: Head "http://127.0.0.1:5055/v2/": dial tcp 127.0.0.1:5055: connect: connection refused`), false},
		{errors.New(`process "/bin/sh -c go build" did not complete successfully: exit code: 1`), false},
	}
	for _, tt := range tests {
		if got := isUnavailable(tt.err); got != tt.want {
			t.Errorf("isUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// contextDir creates a context holding the given files (slash paths), each holding its
// own name.
func contextDir(t *testing.T, files ...string) string {
	t.Helper()
	ctx := t.TempDir()
	for _, f := range files {
		p := filepath.Join(ctx, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ctx
}

// contextFiles lists the files the solve's context mount sends, as slash paths.
func contextFiles(t *testing.T, opt client.SolveOpt) []string {
	t.Helper()
	var seen []string
	err := opt.LocalMounts["context"].Walk(t.Context(), "", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			seen = append(seen, filepath.ToSlash(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}
