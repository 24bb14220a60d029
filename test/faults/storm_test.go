//go:build e2e && linux

package faults

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// dataHandler serves /data: a digest of every file embedded from cmd/server/data,
// computed the same way as dataDigest below, so the test can tell which tree the
// running server was built from.
const dataHandler = `package main

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
)

//go:embed all:data
var data embed.FS

func serveData(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	err := fs.WalkDir(data, "data", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := data.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(h, "%s %x\n", p, sum)
		return nil
	})
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	fmt.Fprintln(w, hex.EncodeToString(h.Sum(nil)))
}
`

// dataDigest computes on the host what the server's /data answers for dir's tree.
func dataDigest(t *testing.T, dir string) string {
	t.Helper()
	root := filepath.Join(dir, "cmd", "server")
	h := sha256.New()
	err := filepath.WalkDir(filepath.Join(root, "data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "%s %x\n", filepath.ToSlash(rel), sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// storm applies randomized bursts of file operations to the example's tree.
type storm struct {
	t    *testing.T
	dir  string
	rng  *rand.Rand
	seq  int
	ops  map[string]int // how often each operation ran
	text string         // the greeting the server answers with
	// branch is the checked-out side of the 2,000-file "git checkout" switch.
	branch string
}

const (
	branchDirs  = 20
	branchFiles = 100 // per dir: 2,000 files
)

func (s *storm) path(parts ...string) string {
	return filepath.Join(append([]string{s.dir, "cmd", "server", "data"}, parts...)...)
}

// branchTree is the tree of a branch: A has gen/p00…p19, B renames p19 to q19, and
// every file's content differs between them.
func branchTree(branch string) map[string]string {
	files := map[string]string{}
	for d := range branchDirs {
		dir := fmt.Sprintf("p%02d", d)
		if branch == "B" && d == branchDirs-1 {
			dir = fmt.Sprintf("q%02d", d)
		}
		for f := range branchFiles {
			files[filepath.Join("gen", dir, fmt.Sprintf("f%03d.txt", f))] = fmt.Sprintf("branch %s file %d/%d\n", branch, d, f)
		}
	}
	return files
}

// checkout switches gen/ to the other branch the way git does: remove what the new
// branch lacks (and directories left empty), then write every changed file anew.
func (s *storm) checkout() {
	next := map[string]string{"A": "B", "B": "A"}[s.branch]
	old, cur := branchTree(s.branch), branchTree(next)
	for _, rel := range slices.Sorted(maps.Keys(old)) {
		if _, keep := cur[rel]; !keep {
			s.must(os.Remove(s.path(rel)))
			_ = os.Remove(filepath.Dir(s.path(rel))) // fails until the dir is empty
		}
	}
	for _, rel := range slices.Sorted(maps.Keys(cur)) {
		p, content := s.path(rel), cur[rel]
		_ = os.Remove(p)
		s.must(os.MkdirAll(filepath.Dir(p), 0o755))
		s.must(os.WriteFile(p, []byte(content), 0o644))
	}
	s.branch = next
}

func (s *storm) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

// randEntries lists the files and directories below data/rand.
func (s *storm) randEntries() (files, dirs []string) {
	root := s.path("rand")
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		} else {
			files = append(files, p)
		}
		return nil
	})
	return files, dirs
}

func (s *storm) name(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%d", prefix, s.seq)
}

// randomDir picks data/rand or one of its subdirectories.
func (s *storm) randomDir(dirs []string) string {
	if len(dirs) == 0 || s.rng.IntN(3) == 0 {
		return s.path("rand")
	}
	return dirs[s.rng.IntN(len(dirs))]
}

func (s *storm) content() []byte {
	return fmt.Appendf(nil, "%d %x\n", s.seq, s.rng.Uint64())
}

// op performs one random operation; relevant ops change what the build sees.
func (s *storm) op(relevantOnly bool) {
	files, dirs := s.randEntries()
	kinds := []string{"create", "modify", "delete", "rename", "mkdir", "rename-dir", "remove-dir", "greeting", "client", "ignored"}
	if relevantOnly {
		kinds = kinds[:len(kinds)-1]
	}
	kind := kinds[s.rng.IntN(len(kinds))]
	if len(files) == 0 && (kind == "modify" || kind == "delete" || kind == "rename") ||
		len(dirs) == 0 && (kind == "rename-dir" || kind == "remove-dir") {
		kind = "create"
	}
	if len(files) > 150 && kind == "create" {
		kind = "delete"
	}
	s.ops[kind]++
	switch kind {
	case "create":
		s.must(os.MkdirAll(s.path("rand"), 0o755))
		s.must(os.WriteFile(filepath.Join(s.randomDir(dirs), s.name("f")+".txt"), s.content(), 0o644))
	case "modify":
		f := files[s.rng.IntN(len(files))]
		if s.rng.IntN(2) == 0 {
			e2etest.WriteFile(s.t, f, string(s.content())) // an editor's write-and-rename
		} else {
			s.must(os.WriteFile(f, s.content(), 0o644))
		}
	case "delete":
		s.must(os.Remove(files[s.rng.IntN(len(files))]))
	case "rename":
		f := files[s.rng.IntN(len(files))]
		s.must(os.Rename(f, filepath.Join(s.randomDir(dirs), s.name("r")+".txt")))
	case "mkdir":
		d := filepath.Join(s.randomDir(dirs), s.name("d"))
		s.must(os.MkdirAll(d, 0o755))
		for range 1 + s.rng.IntN(5) {
			s.must(os.WriteFile(filepath.Join(d, s.name("f")+".txt"), s.content(), 0o644))
		}
	case "rename-dir":
		d := dirs[s.rng.IntN(len(dirs))]
		s.must(os.Rename(d, filepath.Join(s.path("rand"), s.name("m"))))
	case "remove-dir":
		s.must(os.RemoveAll(dirs[s.rng.IntN(len(dirs))]))
	case "greeting":
		s.text = "storm " + s.name("g")
		e2etest.SetGreeting(s.t, s.dir, s.text)
	case "client":
		e2etest.WriteFile(s.t, filepath.Join(s.dir, "cmd", "client", "tag.go"), fmt.Sprintf(
			"package main\n\nimport \"os\"\n\nfunc init() {\n\tif os.Getenv(\"STORM_TAG\") != \"\" {\n\t\tprintln(%q)\n\t}\n}\n", s.name("tag")))
	case "ignored":
		e2etest.WriteFile(s.t, filepath.Join(s.dir, "NOTES.md"), string(s.content()))
	}
}

// TestEditStorms applies randomized bursts of edits while `devloop up` runs (fault
// 4): file and directory creates, modifies, deletes and renames in data embedded by
// the server, source edits of both binaries, ignored files, and a git-checkout-like
// switch of 2,000 files. After each burst settles, ./bin must equal a clean
// `devloop build` of the final tree in another directory, the server must serve that
// tree, and the burst must have caused at most 2 builds.
func TestEditStorms(t *testing.T) {
	e2etest.RequireBuildKit(t)
	bursts := scaled(t, 10, 200)
	rng := newRand(t)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	yaml := fmt.Sprintf(`build_args: {APP_VERSION: storm}
targets:
  server:
    stage: server
    output: .
    run:
      command: [bin/server, --addr, "127.0.0.1:%d"]
      stop_timeout: 2s
      ready: %s
  client:
    stage: client
    output: .
watch:
  ignore: ["**/*.md"]
  debounce: 150ms
`, port, url)
	dir := e2etest.ExampleProject(t, yaml)
	handler := filepath.Join(dir, "cmd", "server", "handler.go")
	src, err := os.ReadFile(handler)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "return mux") {
		t.Fatalf("%s no longer ends newHandler with `return mux`; adapt the /data route", handler)
	}
	e2etest.WriteFile(t, handler, strings.Replace(string(src), "return mux", "mux.HandleFunc(\"/data\", serveData)\n\treturn mux", 1))
	e2etest.WriteFile(t, filepath.Join(dir, "cmd", "server", "data.go"), dataHandler)
	s := &storm{t: t, dir: dir, rng: rng, ops: map[string]int{}, text: "hello from greeter", branch: "A"}
	e2etest.WriteFile(t, s.path("keep.txt"), "always here\n")
	for rel, content := range branchTree("A") {
		s.must(os.MkdirAll(filepath.Dir(s.path(rel)), 0o755))
		s.must(os.WriteFile(s.path(rel), []byte(content), 0o644))
	}
	clean := t.TempDir()

	up := startUp(t, dir, nil)
	up.WaitFirstBuild(5 * time.Minute)
	e2etest.WaitServes(t, url+"data", dataDigest(t, dir), time.Minute)

	hist := map[int]int{}
	for b := range bursts {
		from := up.Len()
		ops := 1 + rng.IntN(15)
		switchAt := -1
		if b%3 == 0 || rng.IntN(3) == 0 {
			switchAt = rng.IntN(ops)
		}
		for i := range ops {
			if i == switchAt {
				s.checkout()
				s.ops["checkout"]++
			}
			s.op(i == 0)
			time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
		}
		builds := up.WaitQuiet(from, time.Second, 5*time.Minute)
		hist[builds]++
		if builds > 2 {
			t.Errorf("burst %d (%d ops, checkout %v) caused %d builds, want at most 2:\n%s",
				b, ops, switchAt >= 0, builds, strings.Join(up.Since(from), "\n"))
		}
		ms, _ := up.Matches(reFinished, from)
		if last := ms[len(ms)-1]; last[1] != "ok" {
			t.Fatalf("burst %d: the last build ended %q, want ok:\n%s", b, last[1], strings.Join(up.Since(from), "\n"))
		}

		// A clean one-shot build of the same tree elsewhere must produce the same ./bin.
		ents, err := os.ReadDir(clean)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Name() != "bin" && e.Name() != ".devloop" {
				s.must(os.RemoveAll(filepath.Join(clean, e.Name())))
			}
		}
		e2etest.CopyTree(t, dir, clean)
		mustBuild(t, clean)
		if d := e2etest.TakeSnapshot(t, filepath.Join(dir, "bin")).Diff(e2etest.TakeSnapshot(t, filepath.Join(clean, "bin"))); d != "" {
			t.Fatalf("burst %d (%d ops, checkout %v): ./bin differs from a clean build of the final tree:\n%s\ndevloop up:\n%s",
				b, ops, switchAt >= 0, d, strings.Join(up.Since(from), "\n"))
		}
		e2etest.WaitServes(t, url+"data", dataDigest(t, dir), 30*time.Second)
		e2etest.WaitServes(t, url, s.text, 30*time.Second)
	}
	t.Logf("%d bursts; builds per burst: %v; operations: %v", bursts, hist, s.ops)
	if code := up.Stop(syscall.SIGINT, time.Minute); code != 0 {
		t.Errorf("devloop up exit code after SIGINT = %d, want 0", code)
	}
}
