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
		{".git", true, false, true, ".git"},
		{".git/index", false, false, true, ".git"},
		{"third_party/.git/HEAD", false, false, true, ".git"},
		{".github/workflows/ci.yml", false, true, true, "default: watched"},
		{"x/y.tmp", false, false, true, `devloop.yaml watch.ignore: "**/*.tmp"`},
		{"docs", true, false, true, `devloop.yaml watch.ignore: "docs/**"`},
		{"docs/guide/intro.txt", false, false, true, `devloop.yaml watch.ignore: "docs/**"`},
		{"vendor/pkg/a.go", false, false, true, `devloop.yaml watch.ignore: "./vendor/"`},
		{"node_modules/left-pad/index.js", false, false, true, `devloop.yaml watch.ignore: "node_modules"`},
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
