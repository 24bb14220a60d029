package rebuild

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tonistiigi/fsutil"
)

// fakeVersions vouches for the directories it has a version for.
type fakeVersions struct {
	mu sync.Mutex
	v  map[string]uint64
}

func (f *fakeVersions) DirVersion(dir string) (uint64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.v[filepath.Clean(dir)]
	return v, ok
}

func (f *fakeVersions) bump(dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.v[filepath.Clean(dir)]++
}

// vouchAll vouches for every directory below root.
func vouchAll(t *testing.T, root string) *fakeVersions {
	t.Helper()
	f := &fakeVersions{v: map[string]uint64{}}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			f.v[p] = 1
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// linkTree adds hardlinks (within a directory and across two), an empty directory
// and an executable to contextTree.
func linkTree(t *testing.T) string {
	t.Helper()
	root := contextTree(t)
	for link, target := range map[string]string{
		"cmd/server/main_link.go": "cmd/server/main.go",
		"assets/d2/hard.txt":      "assets/d1/f1.txt",
	} {
		if err := os.Link(filepath.Join(root, target), filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(root, "main.go"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestStatCacheSameWalk: a walk served from the cache sends exactly what fsutil's
// own walk of the directory sends — entries, order, stats, hardlinks — cold and warm,
// whether or not the directories are vouched for.
func TestStatCacheSameWalk(t *testing.T) {
	root := linkTree(t)
	inner, err := fsutil.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	want := walkAll(t, inner)
	for name, versions := range map[string]DirVersions{"vouched": vouchAll(t, root), "not vouched": &fakeVersions{v: map[string]uint64{}}} {
		t.Run(name, func(t *testing.T) {
			c, err := NewStatCache(root, versions)
			if err != nil {
				t.Fatal(err)
			}
			for _, pass := range []string{"cold", "warm"} {
				if got := walkAll(t, c.FS()); !reflect.DeepEqual(got, want) {
					t.Errorf("%s walk:\n%s", pass, walkDiff(got, want))
				}
			}
		})
	}
	// Through the narrowing and the filters too.
	c, err := NewStatCache(root, vouchAll(t, root))
	if err != nil {
		t.Fatal(err)
	}
	only := &Subset{Dirs: []string{"cmd/server", "internal/greeting"}, Trees: []string{"assets"}}
	req := Request{Context: root, Only: only, Excludes: []string{"assets/d1"}}
	plain, err := contextFS(req)
	if err != nil {
		t.Fatal(err)
	}
	req.Stats = c
	cached, err := contextFS(req)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := walkAll(t, cached), walkAll(t, plain); !reflect.DeepEqual(got, want) {
		t.Errorf("narrowed and filtered walk:\n%s", walkDiff(got, want))
	}
}

// TestStatCacheVersions: a directory is read again when its version changes, and
// only then.
func TestStatCacheVersions(t *testing.T) {
	root := linkTree(t)
	versions := vouchAll(t, root)
	c, err := NewStatCache(root, versions)
	if err != nil {
		t.Fatal(err)
	}
	walkAll(t, c.FS())
	file := filepath.Join(root, "internal", "greeting", "greeting.go")
	if err := os.WriteFile(file, []byte("package greeting // longer now\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(file, later, later); err != nil {
		t.Fatal(err)
	}
	size := func() int64 {
		for _, w := range walkAll(t, c.FS()) {
			if w.path == "internal/greeting/greeting.go" {
				return w.stat.Size
			}
		}
		t.Fatal("greeting.go not walked")
		return 0
	}
	if got := size(); got != int64(len("internal/greeting/greeting.go\n")) {
		t.Errorf("unchanged version: size %d, want the cached one", got)
	}
	versions.bump(filepath.Join(root, "internal", "greeting"))
	if got := size(); got != int64(len("package greeting // longer now\n")) {
		t.Errorf("after the version changed: size %d, want the new one", got)
	}
	// A directory nothing vouches for is read every time.
	other := filepath.Join(root, "assets", "d1", "f1.txt")
	delete(versions.v, filepath.Join(root, "assets", "d1"))
	walkAll(t, c.FS())
	if err := os.WriteFile(other, []byte("changed, longer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, w := range walkAll(t, c.FS()) {
		if w.path == "assets/d1/f1.txt" && w.stat.Size != int64(len("changed, longer\n")) {
			t.Errorf("a directory not vouched for: size %d, want the new one", w.stat.Size)
		}
	}
}

// walkDiff describes the first difference between two walks.
func walkDiff(got, want []walked) string {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			return fmt.Sprintf("entry %d: got %s %+v\nwant %s %+v", i, got[i].path, got[i].stat, want[i].path, want[i].stat)
		}
	}
	return fmt.Sprintf("got %d entries, want %d", len(got), len(want))
}
