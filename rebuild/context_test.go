package rebuild

import (
	"context"
	gofs "io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// contextTree writes a context: a Go module with two packages the build reads, an
// embedded tree, files it does not read, and symlinks.
func contextTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := []string{
		".dockerignore", "go.mod", "go.sum", "README.md", "main.go",
		"cmd/server/main.go", "cmd/server/testdata/big.json", "cmd/client/main.go",
		"internal/greeting/greeting.go", "internal/greeting/sub/x.go",
		"web/static/index.html", "web/static/css/site.css", "web/src/app.ts",
		"assets/d1/f1.txt", "assets/d2/f2.txt", "data/linked.txt", "data/other.txt",
	}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"internal/greeting/linked.txt": "../../data/linked.txt",
		"internal/greeting/abs":        "/etc/hostname",
	} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

type walked struct {
	path string
	stat *fstypes.Stat
}

func walkAll(t *testing.T, fs fsutil.FS) []walked {
	t.Helper()
	var out []walked
	err := fs.Walk(context.Background(), "/", func(p string, e gofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		out = append(out, walked{filepath.ToSlash(p), fi.Sys().(*fstypes.Stat)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func paths(ws []walked) string {
	var ps []string
	for _, w := range ws {
		ps = append(ps, w.path)
	}
	return strings.Join(ps, " ")
}

func TestSubsetFS(t *testing.T) {
	root := contextTree(t)
	tests := []struct {
		name string
		only Subset
		want string
	}{
		{"packages, module files and an embedded tree",
			Subset{Dirs: []string{"cmd/server", "internal/greeting"}, Trees: []string{"go.mod", "go.sum", "web/static"}},
			".dockerignore cmd cmd/server cmd/server/main.go data data/linked.txt go.mod go.sum internal internal/greeting " +
				"internal/greeting/abs internal/greeting/greeting.go internal/greeting/linked.txt web web/static web/static/css web/static/css/site.css web/static/index.html"},
		{"the root package: its files, no subdirectory",
			Subset{Dirs: []string{"."}},
			".dockerignore README.md go.mod go.sum main.go"},
		{"paths that do not exist", Subset{Dirs: []string{"nope"}, Trees: []string{"gone/file"}}, ".dockerignore"},
		{"directories that must exist, without their files", Subset{Exist: []string{"cmd/server", "."}}, ".dockerignore cmd cmd/server"},
		{"unclean paths", Subset{Dirs: []string{"./cmd/client/"}, Trees: []string{"/assets/d2"}},
			".dockerignore assets assets/d2 assets/d2/f2.txt cmd cmd/client cmd/client/main.go"},
	}
	inner, err := fsutil.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	whole := walkAll(t, inner)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := contextFS(Request{Context: root, Only: &tt.only})
			if err != nil {
				t.Fatal(err)
			}
			got := walkAll(t, fs)
			if g := paths(got); g != tt.want {
				t.Errorf("walk sent\n  %s\nwant\n  %s", g, tt.want)
			}
			// Same entries, same stats, same order as the whole context's walk.
			var same []walked
			for _, w := range whole {
				for _, g := range got {
					if g.path == w.path {
						same = append(same, w)
					}
				}
			}
			if !reflect.DeepEqual(got, same) {
				t.Errorf("the subset's entries differ from the whole context's:\n got %v\nwant %v", got, same)
			}
		})
	}
}

func TestSubsetFSFilters(t *testing.T) {
	root := contextTree(t)
	fs, err := contextFS(Request{
		Context: root, Only: &Subset{Dirs: []string{"cmd/server", "cmd/client"}},
		Excludes: []string{"cmd/client"},
		Skip:     func(rel string, isDir bool) bool { return rel == ".dockerignore" },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := paths(walkAll(t, fs)), "cmd cmd/server cmd/server/main.go"; got != want {
		t.Errorf("walk sent %s, want %s", got, want)
	}
}

func TestSubsetFSErrors(t *testing.T) {
	root := contextTree(t)
	for _, s := range []Subset{{Dirs: []string{"../x"}}, {Trees: []string{"a/../../x"}}, {Trees: []string{"."}}} {
		if _, err := contextFS(Request{Context: root, Only: &s}); err == nil {
			t.Errorf("contextFS with %+v: no error", s)
		}
	}
}

func TestSharedKeySubset(t *testing.T) {
	ctx := t.TempDir()
	whole := sharedKey(Request{Context: ctx, Target: "server"})
	if whole != SharedKey(ctx) {
		t.Errorf("whole context: key %s, want SharedKey(ctx) %s", whole, SharedKey(ctx))
	}
	server := sharedKey(Request{Context: ctx, Target: "server", Only: &Subset{}})
	client := sharedKey(Request{Context: ctx, Target: "client", Only: &Subset{}})
	if server == whole || client == whole || server == client {
		t.Errorf("keys whole %s, server subset %s, client subset %s: want three different keys", whole, server, client)
	}
}
