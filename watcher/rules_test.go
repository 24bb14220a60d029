package watcher

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
)

const testIgnoreFile = `# build outputs
*.md
!README.md
build/
!build/keep/x

Dockerfile
secret?.txt
`

func newTestRules(t *testing.T, opts RulesOptions) *Rules {
	t.Helper()
	r, err := NewRules(opts)
	if err != nil {
		t.Fatalf("NewRules() error = %v", err)
	}
	return r
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestExplain(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "ctx")
	writeFile(t, filepath.Join(root, ".dockerignore"), testIgnoreFile)
	r := newTestRules(t, RulesOptions{
		Root:        root,
		Ignore:      []string{"**/*.tmp", "docs/**", "./vendor/", "node_modules"},
		Outputs:     []string{filepath.Join(root, "bin"), filepath.Join(root, ".devloop"), filepath.Join(base, "elsewhere")},
		AlwaysWatch: []string{filepath.Join(root, "Dockerfile"), filepath.Join(root, "main.go"), filepath.Join(base, "devloop.yaml")},
		Config:      filepath.Join(root, "devloop.yaml"),
	})

	tests := []struct {
		rel       string
		isDir     bool
		watched   bool
		inContext bool
		rule      string
	}{
		{".", true, true, true, "build context root"},
		{"", true, true, true, "build context root"},
		{"main.go", false, true, true, "always watched"},
		{"cmd/server/main.go", false, true, true, "default: watched"},
		{"notes.md", false, false, false, `.dockerignore:2: "*.md"`},
		{"README.md", false, true, true, `.dockerignore:3: "!README.md"`},
		{"sub/README.md", false, true, true, "default: watched"},
		{"build", true, false, false, `.dockerignore:4: "build/"`},
		{"build/app.o", false, false, false, `.dockerignore:4: "build/"`},
		{"build/keep", true, false, false, `.dockerignore:4: "build/"`},
		{"build/keep/x", false, true, true, `.dockerignore:5: "!build/keep/x"`},
		{"build/keep/x/deeper", false, true, true, `.dockerignore:5: "!build/keep/x"`},
		{"Dockerfile", false, true, false, `always watched; excluded from the build context by .dockerignore:7: "Dockerfile"`},
		{"secret1.txt", false, false, false, `.dockerignore:8: "secret?.txt"`},
		{"secret12.txt", false, true, true, "default: watched"},
		{"bin", true, false, false, "devloop output"},
		{"bin/server", false, false, false, "devloop output"},
		{".devloop/state.json", false, false, false, "devloop output"},
		{"binary", false, true, true, "default: watched"},
		{".git", true, false, false, `.git: neither watched nor sent (a "!.git" line in .dockerignore sends .git)`},
		{".git/index", false, false, false, `.git: neither watched nor sent (a "!.git" line in .dockerignore sends .git)`},
		{"third_party/.git/HEAD", false, false, false, `.git: neither watched nor sent (a "!third_party/.git" line in .dockerignore sends third_party/.git)`},
		{".gitignore", false, true, true, "default: watched"},
		{"x.git/y", false, true, true, "default: watched"},
		{"x/.git2", false, true, true, "default: watched"},
		{".github/workflows/ci.yml", false, true, true, "default: watched"},
		{"x/y.tmp", false, false, false, `devloop.yaml watch.ignore: "**/*.tmp": neither watched nor sent (a "!x/y.tmp" line in .dockerignore sends it)`},
		{"docs", true, false, false, `devloop.yaml watch.ignore: "docs/**": neither watched nor sent (a "!docs" line in .dockerignore sends it)`},
		{"docs/guide/intro.txt", false, false, false, `devloop.yaml watch.ignore: "docs/**": neither watched nor sent (a "!docs/guide/intro.txt" line in .dockerignore sends it)`},
		{"vendor/pkg/a.go", false, false, false, `devloop.yaml watch.ignore: "./vendor/": neither watched nor sent (a "!vendor/pkg/a.go" line in .dockerignore sends it)`},
		{"node_modules/left-pad/index.js", false, false, false, `devloop.yaml watch.ignore: "node_modules": neither watched nor sent (a "!node_modules/left-pad/index.js" line in .dockerignore sends it)`},
		{"web/node_modules/x.js", false, true, true, "default: watched"},
		{"4913", false, false, false, "editor temp file (vim write test): never a build input"},
		{"pkg/5036", false, false, false, "editor temp file (vim write test): never a build input"},
		{"pkg/4914", false, true, true, "default: watched"},
		{"4913", true, true, true, "default: watched"},
		{".main.go.swp", false, false, false, "editor temp file (vim swap): never a build input"},
		{"pkg/.x.go.swo", false, false, false, "editor temp file (vim swap): never a build input"},
		{".x.go.swx", false, false, false, "editor temp file (vim swap): never a build input"},
		{"x.go~", false, false, false, "editor temp file (backup file): never a build input"},
		{".#x.go", false, false, false, "editor temp file (emacs lock file): never a build input"},
		{"#x.go#", false, false, false, "editor temp file (emacs auto-save file): never a build input"},
		{"x.go___jb_tmp___", false, false, false, "editor temp file (JetBrains safe-write file): never a build input"},
		{"x.go___jb_old___", false, false, false, "editor temp file (JetBrains safe-write file): never a build input"},
		{".DS_Store", false, false, false, "editor temp file (macOS Finder metadata): never a build input"},
		{"pkg/sedAb3xYz", false, false, false, "editor temp file (sed -i temp file): never a build input"},
		{"sed0q9zzz", false, false, false, "editor temp file (sed -i temp file): never a build input"},
		{"sedentary", false, true, true, "default: watched"},
		{"sedAb3xY", false, true, true, "default: watched"},
		{"sedAb3xYz1", false, true, true, "default: watched"},
		{"sedAb-xYz", false, true, true, "default: watched"},
		{"x.go~", true, true, true, "default: watched"},
		{".#dir", true, true, true, "default: watched"},
		{"notes.md.swp", false, false, false, "editor temp file (vim swap): never a build input"},
		{"devloop.yaml", false, true, false, "devloop's config file: it configures devloop, not the build, so it is never sent to BuildKit"},
		{"sub/devloop.yaml", false, true, true, "default: watched"},
		{"../devloop.yaml", false, true, false, "always watched (outside the build context)"},
		{"../other.yaml", false, false, false, "outside the build context"},
		{"..", true, false, false, "outside the build context"},
		// Names that merely start with "..": inside the context.
		{"..cache", true, true, true, "default: watched"},
		{"..cache/x.go", false, true, true, "default: watched"},
		{"...", false, true, true, "default: watched"},
		{"bin2/x", false, true, true, "default: watched"},
	}
	for _, tt := range tests {
		got := r.Explain(tt.rel, tt.isDir)
		want := Decision{Watched: tt.watched, InContext: tt.inContext, Rule: tt.rule}
		if got != want {
			t.Errorf("Explain(%q, %v) = %+v, want %+v", tt.rel, tt.isDir, got, want)
		}
		if w := r.Watched(tt.rel, tt.isDir); w != tt.watched {
			t.Errorf("Watched(%q, %v) = %v, want %v", tt.rel, tt.isDir, w, tt.watched)
		}
	}
}

// TestInContextMatchesPatternmatcher cross-checks the per-pattern evaluation
// (needed to name the deciding line) against patternmatcher itself.
func TestInContextMatchesPatternmatcher(t *testing.T) {
	files := map[string]string{
		"exceptions": testIgnoreFile,
		"nested":     "**/*.log\n!keep/**\nkeep/tmp\n!keep/tmp/important.log\n",
		"dirs":       "a\n!a/b\na/b/c\n",
		"wildcards":  "*/generated\n!api/generated/*.go\n[ab]*.txt\n",
		"everything": "*\n!src\n!go.mod\n",
	}
	paths := []string{
		"README.md", "x.md", "docs/x.md", "build", "build/keep", "build/keep/x", "build/keep/y",
		"a.log", "sub/a.log", "keep/a.log", "keep/tmp", "keep/tmp/x", "keep/tmp/important.log",
		"a", "a/x", "a/b", "a/b/x", "a/b/c", "a/b/c/x", "api/generated/x.go", "api/generated/x.txt",
		"web/generated", "b1.txt", "c1.txt", "src/main.go", "go.mod", "go.sum", "Dockerfile",
	}
	for name, content := range files {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, ".dockerignore"), content)
		r := newTestRules(t, RulesOptions{Root: root})
		for _, p := range paths {
			want, err := patternmatcher.MatchesOrParentMatches(p, r.ContextExcludes())
			if err != nil {
				t.Fatalf("%s: MatchesOrParentMatches(%q) error = %v", name, p, err)
			}
			if got := r.Explain(p, asFile).InContext; got != !want {
				t.Errorf("%s: Explain(%q).InContext = %v, want %v", name, p, got, !want)
			}
		}
	}
}

func TestContextExcludes(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "ctx")
	writeFile(t, filepath.Join(base, "Dockerfile.dockerignore"), "\uFEFF# comment\n /node_modules/ \n\n!node_modules/keep\n*.md\n")
	writeFile(t, filepath.Join(root, ".dockerignore"), "unused\n")
	r := newTestRules(t, RulesOptions{
		Root:         root,
		Dockerignore: filepath.Join(base, "Dockerfile.dockerignore"),
		Outputs:      []string{filepath.Join(root, "bin"), filepath.Join(root, ".devloop", "staging"), filepath.Join(base, "out")},
	})
	got := r.ContextExcludes()
	want := []string{"node_modules", "!node_modules/keep", "*.md", "bin", ".devloop/staging"}
	if !slices.Equal(got, want) {
		t.Errorf("ContextExcludes() = %q, want %q", got, want)
	}
	if d := r.Explain("node_modules/x", asFile); d.Rule != `Dockerfile.dockerignore:2: "/node_modules/"` {
		t.Errorf("Explain(node_modules/x).Rule = %q, want %q", d.Rule, `Dockerfile.dockerignore:2: "/node_modules/"`)
	}
}

func TestNewRulesErrors(t *testing.T) {
	root := t.TempDir()
	badIgnore := filepath.Join(root, "bad.dockerignore")
	writeFile(t, badIgnore, "ok\n[z-a\n")
	lonely := filepath.Join(root, "lonely.dockerignore")
	writeFile(t, lonely, "a\n!\n")

	tests := []struct {
		name string
		opts RulesOptions
		want []string // substrings of the error
	}{
		{"relative root", RulesOptions{Root: "ctx"}, []string{`"ctx"`, "not an absolute path"}},
		{"bad dockerignore pattern", RulesOptions{Root: root, Dockerignore: badIgnore}, []string{badIgnore + ":2", `"[z-a"`}},
		{"lone exclamation", RulesOptions{Root: root, Dockerignore: lonely}, []string{lonely + ":2", `"!"`}},
		{"unreadable dockerignore", RulesOptions{Root: root, Dockerignore: root}, []string{"read ignore file " + root}},
		{"bad glob", RulesOptions{Root: root, Ignore: []string{"ok/**", "src/[a"}}, []string{"watch.ignore", `"src/[a"`}},
		{"empty glob", RulesOptions{Root: root, Ignore: []string{"/"}}, []string{"watch.ignore", `"/"`}},
		{"output is root", RulesOptions{Root: root, Outputs: []string{root + "/"}}, []string{"output " + root, "root itself"}},
		{"relative always-watched", RulesOptions{Root: root, AlwaysWatch: []string{"Dockerfile"}}, []string{`"Dockerfile"`, "not absolute"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRules(tt.opts)
			if err == nil {
				t.Fatalf("NewRules() error = nil, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("NewRules() error = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestNewRulesMissingIgnoreFile(t *testing.T) {
	root := t.TempDir()
	r, err := NewRules(RulesOptions{Root: root, Dockerignore: filepath.Join(root, "nope.dockerignore")})
	if err != nil {
		t.Fatalf("NewRules() error = %v, want nil for a missing ignore file", err)
	}
	if got := r.ContextExcludes(); len(got) != 0 {
		t.Errorf("ContextExcludes() = %q, want none", got)
	}
}

func TestDescend(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, ".dockerignore"), "build\n!build/keep/x\ngen\n!gen/*/api\nnode_modules\n")
	r := newTestRules(t, RulesOptions{Root: root, Ignore: []string{"tmp"}, Outputs: []string{filepath.Join(root, "bin")}})
	tests := []struct {
		rel  string
		want bool
	}{
		{".", true},
		{"src", true},
		{"build", true},
		{"build/keep", true},
		{"build/keep/x", true},
		{"build/keep/x/y", true},
		{"build/other", false},
		{"build/keepsake", false},
		{"gen", true},
		{"gen/v1", true},
		{"gen/v1/api", true},
		{"node_modules", false},
		{"tmp", false},
		{"bin", false},
		{".git", false},
		{"..", false},
		{"../x", false},
		{"..cache", true},
		{"..cache/x", true},
		{"bin2", true},
	}
	for _, tt := range tests {
		if got := r.descend(tt.rel); got != tt.want {
			t.Errorf("descend(%q) = %v, want %v", tt.rel, got, tt.want)
		}
	}
}

// TestEditorTempNeverInContext: editor temp files stay out of the build context even
// where a .dockerignore exception re-includes their directory, and the walk's filter
// (NeverInContext) and Explain agree on every name.
func TestEditorTempNeverInContext(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, ".dockerignore"), "*\n!src\n!Dockerfile\n")
	r := newTestRules(t, RulesOptions{Root: root, AlwaysWatch: []string{filepath.Join(root, "Dockerfile")}})
	tests := []struct {
		rel   string
		isDir bool
		never bool
	}{
		{"src/.main.go.swp", false, true},
		{"src/main.go~", false, true},
		{"src/.#main.go", false, true},
		{"src/#main.go#", false, true},
		{"src/main.go___jb_tmp___", false, true},
		{"src/4913", false, true},
		{"src/.DS_Store", false, true},
		{"src/sedK2f9Qa", false, true},
		{"src/main.go", false, false},
		{"src/sedentary", false, false},
		{"src/backup~", true, false}, // a directory is never a temp file
		{"Dockerfile", false, false},
	}
	for _, tt := range tests {
		if got := r.NeverInContext(tt.rel, tt.isDir); got != tt.never {
			t.Errorf("NeverInContext(%q, %v) = %v, want %v", tt.rel, tt.isDir, got, tt.never)
		}
		excluded, err := patternmatcher.MatchesOrParentMatches(tt.rel, r.ContextExcludes())
		if err != nil {
			t.Fatal(err)
		}
		sent := !excluded && !r.NeverInContext(tt.rel, tt.isDir)
		if d := r.Explain(tt.rel, tt.isDir); d.InContext != sent {
			t.Errorf("Explain(%q).InContext = %v, but the context walk sends it: %v (%s)", tt.rel, d.InContext, sent, d.Rule)
		}
	}
}

// TestConfigNeverInContext: devloop.yaml is watched and never sent, also when the
// .dockerignore re-includes everything, and its pattern matches only itself even when
// its name holds pattern characters.
func TestConfigNeverInContext(t *testing.T) {
	for _, name := range []string{"devloop.yaml", "conf/dev[1]*.yaml", "!dev.yaml"} {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, ".dockerignore"), "!*\n")
		r := newTestRules(t, RulesOptions{Root: root, Config: filepath.Join(root, filepath.FromSlash(name))})
		d := r.Explain(name, asFile)
		if !d.Watched || d.InContext || !strings.Contains(d.Rule, "devloop's config file") {
			t.Errorf("%s: Explain = %+v, want watched, not in the context, by the config rule", name, d)
		}
		for rel, want := range map[string]bool{name: true, "conf/dev1x.yaml": false, "devloop.yml": false, "dev.yaml": false} {
			got, err := patternmatcher.MatchesOrParentMatches(rel, r.ContextExcludes())
			if err != nil {
				t.Fatalf("%s: ContextExcludes() = %q: %v", name, r.ContextExcludes(), err)
			}
			if got != want {
				t.Errorf("%s: ContextExcludes() = %q excludes %q: %v, want %v", name, r.ContextExcludes(), rel, got, want)
			}
		}
	}
	outside := t.TempDir()
	r := newTestRules(t, RulesOptions{Root: filepath.Join(outside, "ctx"), Config: filepath.Join(outside, "devloop.yaml")})
	if d := r.Explain("../devloop.yaml", asFile); !d.Watched || d.InContext {
		t.Errorf("Explain(../devloop.yaml) = %+v, want watched, outside the context", d)
	}
	if got := r.ContextExcludes(); len(got) != 0 {
		t.Errorf("ContextExcludes() = %q, want none for a config outside the context", got)
	}
}

// sentByWalk walks root as the context walk does (BuildKit's patterns from
// ContextExcludes, NeverInContext with its directory pruning) and returns the
// files it sends, slash-separated and relative to root.
func sentByWalk(t *testing.T, r *Rules, root string) []string {
	t.Helper()
	var sent []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if r.NeverInContext(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		excluded, err := patternmatcher.MatchesOrParentMatches(rel, r.ContextExcludes())
		if err != nil {
			return err
		}
		if !excluded {
			sent = append(sent, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sent
}

// TestWatchIgnoredNotSent: what watch.ignore and .git keep from the watcher is
// not sent either (issue 16 §6: a server writing data/state made the next
// build rerun `COPY . .`), unless a "!" line of the ignore file names a path
// inside it; the walk that sends the context and Explain agree on every file.
func TestWatchIgnoredNotSent(t *testing.T) {
	files := []string{
		"main.go", "go.mod", "Dockerfile", ".gitignore",
		"data/state", "data/seed.json", "data/sub/x", "data.go",
		".git/HEAD", ".git/index", ".git/objects/ab/cdef", "third_party/lib/.git/HEAD", "third_party/lib/lib.go",
		"src/main.go", "src/gen/z.go", "src/gen/keep.go", "README.md", "docs/a.md",
		"build/out/x", "build/Dockerfile.dev",
	}
	tests := []struct {
		name      string
		ignore    string // .dockerignore
		globs     []string
		always    []string
		wantSent  []string
		wantRules map[string]string // rel → a part of its Rule
	}{
		{
			name:     "no ignore file",
			globs:    []string{"data/**", "**/*.md"},
			wantSent: []string{".gitignore", "Dockerfile", "build/Dockerfile.dev", "build/out/x", "data.go", "go.mod", "main.go", "src/gen/keep.go", "src/gen/z.go", "src/main.go", "third_party/lib/lib.go"},
			wantRules: map[string]string{
				"data/state": `devloop.yaml watch.ignore: "data/**": neither watched nor sent (a "!data/state" line in .dockerignore sends it)`,
				".git/index": `.git: neither watched nor sent (a "!.git" line in .dockerignore sends .git)`,
			},
		},
		{
			name:     "a \"!\" line names a file in the ignored tree",
			ignore:   "!data/seed.json\n!.git/HEAD\n",
			globs:    []string{"data/**"},
			wantSent: []string{".git/HEAD", ".gitignore", "Dockerfile", "README.md", "build/Dockerfile.dev", "build/out/x", "data.go", "data/seed.json", "docs/a.md", "go.mod", "main.go", "src/gen/keep.go", "src/gen/z.go", "src/main.go", "third_party/lib/lib.go"},
			wantRules: map[string]string{
				"data/seed.json": `devloop.yaml watch.ignore: "data/**": not watched; sent because of .dockerignore:1: "!data/seed.json"`,
				".git/HEAD":      `.git: not watched; sent because of .dockerignore:2: "!.git/HEAD"`,
				"data/state":     "neither watched nor sent",
			},
		},
		{
			name:     "\"!.git\" sends all of .git",
			ignore:   "!.git\n",
			wantSent: []string{".git/HEAD", ".git/index", ".git/objects/ab/cdef", ".gitignore", "Dockerfile", "README.md", "build/Dockerfile.dev", "build/out/x", "data.go", "data/seed.json", "data/state", "data/sub/x", "docs/a.md", "go.mod", "main.go", "src/gen/keep.go", "src/gen/z.go", "src/main.go", "third_party/lib/lib.go"},
		},
		{
			name:     "a whitelist's broad \"!\" line does not send what watch.ignore keeps out",
			ignore:   "*\n!src\n!go.mod\n!src/gen/keep.go\n",
			globs:    []string{"src/gen"},
			wantSent: []string{"go.mod", "src/gen/keep.go", "src/main.go"},
			wantRules: map[string]string{
				"src/gen/z.go":    `devloop.yaml watch.ignore: "src/gen": neither watched nor sent`,
				"src/gen/keep.go": `sent because of .dockerignore:4: "!src/gen/keep.go"`,
			},
		},
		{
			name:      "the ignore file's own exclusion decides first",
			ignore:    "data\n!data/seed.json\n",
			globs:     []string{"data/**"},
			wantSent:  []string{".gitignore", "Dockerfile", "README.md", "build/Dockerfile.dev", "build/out/x", "data.go", "data/seed.json", "docs/a.md", "go.mod", "main.go", "src/gen/keep.go", "src/gen/z.go", "src/main.go", "third_party/lib/lib.go"},
			wantRules: map[string]string{"data/state": `.dockerignore:1: "data"`},
		},
		{
			name:     "an always-watched file below an ignored dir",
			globs:    []string{"build"},
			always:   []string{"build/Dockerfile.dev"},
			wantSent: []string{".gitignore", "Dockerfile", "README.md", "build/Dockerfile.dev", "data.go", "data/seed.json", "data/state", "data/sub/x", "docs/a.md", "go.mod", "main.go", "src/gen/keep.go", "src/gen/z.go", "src/main.go", "third_party/lib/lib.go"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range files {
				writeFile(t, filepath.Join(root, filepath.FromSlash(f)), f)
			}
			if tt.ignore != "" {
				writeFile(t, filepath.Join(root, ".dockerignore"), tt.ignore)
			}
			var always []string
			for _, a := range tt.always {
				always = append(always, filepath.Join(root, filepath.FromSlash(a)))
			}
			r := newTestRules(t, RulesOptions{Root: root, Ignore: tt.globs, AlwaysWatch: always})
			sent := sentByWalk(t, r, root)
			if tt.ignore != "" {
				sent = slices.DeleteFunc(sent, func(s string) bool { return s == ".dockerignore" })
			}
			slices.Sort(sent)
			slices.Sort(tt.wantSent)
			if !slices.Equal(sent, tt.wantSent) {
				t.Errorf("sent = %q\nwant   %q", sent, tt.wantSent)
			}
			for _, f := range files {
				d := r.Explain(f, asFile)
				if in := slices.Contains(sent, f); d.InContext != in {
					t.Errorf("Explain(%q).InContext = %v, but the context walk sends it: %v (%s)", f, d.InContext, in, d.Rule)
				}
			}
			for rel, want := range tt.wantRules {
				if d := r.Explain(rel, asFile); !strings.Contains(d.Rule, want) {
					t.Errorf("Explain(%q).Rule = %q, want it to contain %q", rel, d.Rule, want)
				}
			}
		})
	}
}

func TestSameContext(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, ".dockerignore"), "*.log\n")
	base := newTestRules(t, RulesOptions{Root: root, Ignore: []string{"data/**"}})
	for _, tt := range []struct {
		name string
		opts RulesOptions
		same bool
	}{
		{"same", RulesOptions{Root: root, Ignore: []string{"./data/**"}}, true},
		{"another glob", RulesOptions{Root: root, Ignore: []string{"data/**", "tmp"}}, false},
		{"no glob", RulesOptions{Root: root}, false},
		{"another output", RulesOptions{Root: root, Ignore: []string{"data/**"}, Outputs: []string{filepath.Join(root, "bin")}}, false},
	} {
		if got := base.SameContext(newTestRules(t, tt.opts)); got != tt.same {
			t.Errorf("%s: SameContext = %v, want %v", tt.name, got, tt.same)
		}
	}
}

// BenchmarkNeverInContext: the context walk asks NeverInContext for every path it
// visits; this is its cost per path with two watch.ignore globs.
func BenchmarkNeverInContext(b *testing.B) {
	root := b.TempDir()
	r, err := NewRules(RulesOptions{Root: root, Ignore: []string{"data/**", "**/*.tmp"}})
	if err != nil {
		b.Fatal(err)
	}
	paths := []string{"main.go", "internal/server/handler.go", "cmd/app/main.go", "vendor/github.com/x/y/z.go", "web/static/css/site.css"}
	b.ResetTimer()
	for i := range b.N {
		r.NeverInContext(paths[i%len(paths)], asFile)
	}
}
