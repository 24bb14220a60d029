package watcher

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// RulesOptions configures [NewRules].
type RulesOptions struct {
	// Root is the absolute build context directory.
	Root string
	// Ignore holds the watch.ignore doublestar globs, slash-separated and
	// relative to Root. A glob matching a directory ignores everything below it.
	Ignore []string
	// Dockerignore is the absolute path of the ignore file BuildKit uses. ""
	// means Root/.dockerignore. A missing file means no patterns.
	Dockerignore string
	// Outputs are absolute paths devloop writes (exported files, output and
	// staging dirs, the state dir): never watched, never in the context.
	Outputs []string
	// AlwaysWatch are absolute file paths watched even if ignored or outside
	// Root (the Dockerfile, the .dockerignore).
	AlwaysWatch []string
	// Config is the absolute path of devloop.yaml, or "". It configures
	// devloop, not the build: always watched, never in the build context
	// (editing it must not invalidate steps that read the whole context).
	Config string
}

// Decision is the verdict of the rules on one path.
type Decision struct {
	// Watched reports whether changes to the path trigger a build.
	Watched bool
	// InContext reports whether the path is sent to BuildKit.
	InContext bool
	// Rule is the human-readable rule that decided, e.g.
	// `.dockerignore:3: "!keep.md"` or `default: watched`.
	Rule string
}

// Rules decides which paths are in the build context and which are watched.
// A Rules is immutable and safe for concurrent use.
type Rules struct {
	root       string
	ignoreName string // base name of the ignore file, for Rule strings
	patterns   []ignorePattern
	// exceptionPrefixes are the literal leading directories of the "!"
	// patterns: only excluded dirs on the way to (or below) one of them can
	// hold a re-included path.
	exceptionPrefixes []string
	globs             []glob
	outputs           []string        // slash paths relative to root
	always            map[string]bool // slash paths relative to root, may start with "../"
	alwaysAbs         []string
	config            string // slash path of devloop.yaml relative to root; "" if none or outside the root
}

type ignorePattern struct {
	text      string // normalized, "!" kept: what BuildKit gets
	raw       string // as written (trimmed), for Rule strings
	line      int
	exclusion bool
	// prefix is the literal leading directories of an exclusion ("!")
	// pattern's body: a watch-ignored path is sent only by an exception
	// whose prefix lies in the watch-ignored tree.
	prefix string
	// m matches the pattern without its "!"; it is compiled in NewRules, after
	// which matching only reads it.
	m *patternmatcher.PatternMatcher
}

type glob struct {
	pattern string // normalized
	raw     string // as written, for Rule strings
}

// NewRules reads the ignore file and validates every pattern.
func NewRules(opts RulesOptions) (*Rules, error) {
	if !filepath.IsAbs(opts.Root) {
		return nil, fmt.Errorf("watch rules: context root %q is not an absolute path", opts.Root)
	}
	r := &Rules{root: filepath.Clean(opts.Root), always: make(map[string]bool)}

	ignorePath := opts.Dockerignore
	if ignorePath == "" {
		ignorePath = filepath.Join(r.root, ".dockerignore")
	}
	r.ignoreName = filepath.Base(ignorePath)
	if err := r.readIgnoreFile(ignorePath); err != nil {
		return nil, err
	}

	for _, raw := range opts.Ignore {
		p := strings.TrimSpace(raw)
		p = strings.TrimPrefix(p, "./")
		p = strings.Trim(p, "/")
		if p == "" || !doublestar.ValidatePattern(p) {
			return nil, fmt.Errorf("watch rules: invalid watch.ignore glob %q", raw)
		}
		r.globs = append(r.globs, glob{pattern: p, raw: raw})
	}

	for _, out := range opts.Outputs {
		rel, ok := r.relIn(out)
		if !ok {
			continue
		}
		if rel == "." {
			return nil, fmt.Errorf("watch rules: devloop output %s is the build context root itself", out)
		}
		r.outputs = append(r.outputs, rel)
	}

	always := opts.AlwaysWatch
	if opts.Config != "" {
		if !filepath.IsAbs(opts.Config) {
			return nil, fmt.Errorf("watch rules: config file %q is not an absolute path", opts.Config)
		}
		if rel, inside := ospath.Child(r.root, filepath.Clean(opts.Config)); inside {
			r.config = filepath.ToSlash(rel)
		}
		always = append(always[:len(always):len(always)], opts.Config)
	}
	for _, p := range always {
		if !filepath.IsAbs(p) {
			return nil, fmt.Errorf("watch rules: always-watched path %q is not absolute", p)
		}
		p = filepath.Clean(p)
		rel, err := filepath.Rel(r.root, p)
		if err != nil {
			return nil, fmt.Errorf("watch rules: always-watched path %s: %w", p, err)
		}
		r.always[filepath.ToSlash(rel)] = true
		r.alwaysAbs = append(r.alwaysAbs, p)
	}
	return r, nil
}

// readIgnoreFile loads the .dockerignore patterns with their line numbers,
// normalized exactly as BuildKit does (ignorefile.ReadAll, line by line).
func (r *Rules) readIgnoreFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read ignore file %s: %w", path, err)
	}
	defer f.Close()

	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF")
		}
		pats, err := ignorefile.ReadAll(strings.NewReader(text))
		if err != nil {
			return fmt.Errorf("read ignore file %s:%d: %w", path, line, err)
		}
		if len(pats) == 0 {
			continue
		}
		p := ignorePattern{text: pats[0], raw: strings.TrimSpace(text), line: line}
		body := p.text
		if strings.HasPrefix(body, "!") {
			p.exclusion = true
			body = body[1:]
		}
		if body == "" {
			return fmt.Errorf("read ignore file %s:%d: bad pattern %q: nothing after \"!\"", path, line, p.raw)
		}
		p.m, err = patternmatcher.New([]string{body})
		if err == nil {
			// Compile the pattern now: reports regexp errors here and makes
			// later matching read-only (safe for concurrent use).
			_, err = p.m.MatchesOrParentMatches("probe")
		}
		if err != nil {
			return fmt.Errorf("read ignore file %s:%d: bad pattern %q: %w", path, line, p.raw, err)
		}
		if p.exclusion {
			p.prefix = literalPrefix(body)
			r.exceptionPrefixes = append(r.exceptionPrefixes, p.prefix)
		}
		r.patterns = append(r.patterns, p)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read ignore file %s: %w", path, err)
	}
	return nil
}

// literalPrefix returns the leading path components of a pattern that hold no
// wildcard or escape.
func literalPrefix(pattern string) string {
	var lit []string
	for _, c := range strings.Split(pattern, "/") {
		if strings.ContainsAny(c, `*?[\`) {
			break
		}
		lit = append(lit, c)
	}
	return strings.Join(lit, "/")
}

// Explain says whether rel (slash-separated, relative to the root) is watched
// and in the build context, and which rule decided.
func (r *Rules) Explain(rel string, isDir bool) Decision {
	rel = cleanRel(rel)
	if rel == "." {
		return Decision{Watched: true, InContext: true, Rule: "build context root"}
	}
	if outside(rel) {
		if r.always[rel] {
			return Decision{Watched: true, Rule: "always watched (outside the build context)"}
		}
		return Decision{Rule: "outside the build context"}
	}
	if r.isOutput(rel) {
		return Decision{Rule: "devloop output"}
	}
	if rel == r.config {
		return Decision{Watched: true, Rule: configRule}
	}

	excluded, by := r.dockerignore(rel)
	if r.always[rel] {
		if excluded {
			return Decision{Watched: true, Rule: "always watched; excluded from the build context by " + r.describe(by)}
		}
		return Decision{Watched: true, InContext: true, Rule: "always watched"}
	}
	if kind := r.editorTemp(rel, isDir); kind != "" {
		return Decision{Rule: "editor temp file (" + kind + "): never a build input"}
	}
	if excluded {
		return Decision{Rule: r.describe(by)}
	}
	if rule, at := r.watchIgnored(rel); rule != "" {
		if by := r.reincluded(rel, at); by != nil {
			return Decision{InContext: true, Rule: rule + ": not watched; sent because of " + r.describe(by)}
		}
		return Decision{Rule: rule + ": " + r.notSent(rule, rel, at)}
	}
	if by != nil {
		return Decision{Watched: true, InContext: true, Rule: r.describe(by)}
	}
	return Decision{Watched: true, InContext: true, Rule: "default: watched"}
}

// Values of the isDir arguments of Watched and Explain.
const (
	asDir  = true
	asFile = false
)

// Watched reports whether changes to rel (slash-separated, relative to the
// root) are reported.
func (r *Rules) Watched(rel string, isDir bool) bool {
	return r.Explain(rel, isDir).Watched
}

// configRule is the Rule of devloop.yaml's decision.
const configRule = "devloop's config file: it configures devloop, not the build, so it is never sent to BuildKit"

// ContextExcludes returns the exclude patterns for BuildKit's local context
// mount, in .dockerignore syntax: the ignore file's patterns in order ("!"
// exceptions kept), then the Outputs and devloop.yaml inside the root, which
// no exception re-includes. Pass [Rules.NeverInContext] to the same walk:
// editor temp files are left out by name, which patterns cannot express.
func (r *Rules) ContextExcludes() []string {
	ex := make([]string, 0, len(r.patterns)+len(r.outputs)+1)
	for _, p := range r.patterns {
		ex = append(ex, p.text)
	}
	for _, o := range r.outputs {
		ex = append(ex, escapePattern(o))
	}
	if r.config != "" {
		ex = append(ex, escapePattern(r.config))
	}
	return ex
}

// SameContext reports whether r and o send the same build context: the same
// ignore file patterns, outputs and config file, and the same watch.ignore
// globs (which keep paths out of the context too).
func (r *Rules) SameContext(o *Rules) bool {
	return slices.Equal(r.ContextExcludes(), o.ContextExcludes()) &&
		slices.EqualFunc(r.globs, o.globs, func(a, b glob) bool { return a.pattern == b.pattern })
}

// NeverInContext reports whether the walk that sends the build context must
// leave out rel (slash-separated, relative to the root) although the
// patterns of [Rules.ContextExcludes] keep it: editor temp files, recognised
// by name, and what watch.ignore and .git keep out (doublestar globs, which
// .dockerignore patterns cannot express), unless a "!" line of the ignore file
// sends it (see [Rules.Explain]). For a directory, true means nothing below it
// is sent either: the walk need not descend. It is called for every path the
// walk visits.
func (r *Rules) NeverInContext(rel string, isDir bool) bool {
	if r.always[rel] {
		return false
	}
	if r.editorTemp(rel, isDir) != "" {
		return true
	}
	rule, at := r.watchIgnored(rel)
	if rule == "" {
		return false
	}
	if r.reincluded(rel, at) != nil {
		return false
	}
	// A directory is walked on if a "!" line, or an always-watched file, may
	// send something below it; the directory itself then goes along, as
	// BuildKit sends the parents of what an exception re-includes.
	return !isDir || !r.mayHoldSent(rel)
}

// reincluded returns the "!" line of the ignore file that sends rel although
// watch.ignore or .git keeps it out from at (the watch-ignored directory or
// file containing it), or nil: the last pattern of the file matching rel (or a
// parent) must be an exception naming a path in that tree
// (`!data/seed.json` under `data/**`, `!.git` for .git). A broader one (`*`
// then `!src` with watch.ignore `src/gen/**`) is about the ignore file's own
// exclusions and sends nothing watch.ignore keeps out.
func (r *Rules) reincluded(rel, at string) *ignorePattern {
	for i := len(r.patterns) - 1; i >= 0; i-- {
		p := &r.patterns[i]
		if ok, _ := p.m.MatchesOrParentMatches(rel); !ok {
			continue
		}
		if _, in := ospath.Child(at, p.prefix); p.exclusion && in {
			return p
		}
		return nil
	}
	return nil
}

// mayHoldSent reports whether something below the watch-ignored directory
// rel may still be sent: an exception of the ignore file reaches into it, or
// an always-watched file lies below it.
func (r *Rules) mayHoldSent(rel string) bool {
	for _, pre := range r.exceptionPrefixes {
		if _, below := ospath.Child(rel, pre); below {
			return true
		}
	}
	for a := range r.always {
		if _, below := ospath.Child(rel, a); below {
			return true
		}
	}
	return false
}

// notSent is the second half of the Rule of rel, which watch.ignore or .git
// keeps out of the build context from at: it names the ignore file line that
// would send it.
func (r *Rules) notSent(rule, rel, at string) string {
	if rule == gitRule {
		return fmt.Sprintf("neither watched nor sent (a %q line in %s sends %s)", "!"+escapePattern(at), r.ignoreName, at)
	}
	return fmt.Sprintf("neither watched nor sent (a %q line in %s sends it)", "!"+escapePattern(rel), r.ignoreName)
}

// escapePattern quotes a literal path for a .dockerignore pattern.
func escapePattern(p string) string {
	if runtime.GOOS == "windows" {
		return p // patternmatcher has no escape character there
	}
	var b strings.Builder
	for i, c := range p {
		if strings.ContainsRune(`*?[]\`, c) || i == 0 && c == '!' {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// descend reports whether the watcher must watch directory rel: it is watched,
// or excluded only by the ignore file while a "!" exception could re-include
// something below it.
func (r *Rules) descend(rel string) bool {
	rel = cleanRel(rel)
	if rel == "." {
		return true
	}
	if rule, _ := r.watchIgnored(rel); outside(rel) || r.isOutput(rel) || rule != "" {
		return false
	}
	if excluded, _ := r.dockerignore(rel); !excluded {
		return true
	}
	for _, pre := range r.exceptionPrefixes {
		// An exception below rel, or rel below an exception's literal prefix.
		_, below := ospath.Child(rel, pre)
		_, above := ospath.Child(pre, rel)
		if below || above {
			return true
		}
	}
	return false
}

// dockerignore applies the ignore file like patternmatcher's
// MatchesOrParentMatches (last matching pattern wins, a pattern matching a
// parent dir matches the path) and also returns the pattern that decided.
func (r *Rules) dockerignore(rel string) (excluded bool, by *ignorePattern) {
	for i := range r.patterns {
		p := &r.patterns[i]
		if p.exclusion != excluded {
			continue
		}
		if ok, _ := p.m.MatchesOrParentMatches(rel); ok {
			excluded = !p.exclusion
			by = p
		}
	}
	return excluded, by
}

// gitRule is the Rule of paths in a .git directory.
const gitRule = ".git"

// watchIgnored returns the rule that keeps rel out of the watch set and the
// build context (a watch.ignore glob or .git), or "", and the shortest
// leading part of rel it matches: the directory (or file) it keeps out.
func (r *Rules) watchIgnored(rel string) (rule, at string) {
	if i := gitComponent(rel); i >= 0 {
		return gitRule, rel[:i+len(".git")]
	}
	for _, g := range r.globs {
		// The glob ignores rel if it matches rel or one of its parent dirs.
		for i := 0; i <= len(rel); i++ {
			if i < len(rel) && rel[i] != '/' {
				continue
			}
			if doublestar.MatchUnvalidated(g.pattern, rel[:i]) {
				return fmt.Sprintf("devloop.yaml watch.ignore: %q", g.raw), rel[:i]
			}
		}
	}
	return "", ""
}

// gitComponent returns the index in rel of its first ".git" component, or -1.
func gitComponent(rel string) int {
	for i := 0; ; {
		j := strings.Index(rel[i:], ".git")
		if j < 0 {
			return -1
		}
		j += i
		end := j + len(".git")
		if (j == 0 || rel[j-1] == '/') && (end == len(rel) || rel[end] == '/') {
			return j
		}
		i = j + 1
	}
}

// editorTemp names the kind of editor temp file rel is, or returns "".
// Directories are never editor temp files.
func (r *Rules) editorTemp(rel string, isDir bool) string {
	if isDir {
		return ""
	}
	return editorTemp(rel[strings.LastIndexByte(rel, '/')+1:])
}

func (r *Rules) isOutput(rel string) bool {
	for _, o := range r.outputs {
		if _, in := ospath.Child(o, rel); in {
			return true
		}
	}
	return false
}

func (r *Rules) describe(p *ignorePattern) string {
	return fmt.Sprintf("%s:%d: %q", r.ignoreName, p.line, p.raw)
}

// rel converts an absolute path to a slash path relative to the root
// ("../…" when outside).
func (r *Rules) rel(abs string) string {
	if rest, ok := strings.CutPrefix(abs, r.root); ok && len(rest) > 0 && os.IsPathSeparator(rest[0]) {
		return filepath.ToSlash(rest[1:])
	}
	if abs == r.root {
		return "."
	}
	rel, err := filepath.Rel(r.root, abs)
	if err != nil {
		return filepath.ToSlash(abs)
	}
	return filepath.ToSlash(rel)
}

// relIn is rel for paths inside the root; ok is false for paths outside it.
func (r *Rules) relIn(abs string) (string, bool) {
	if !filepath.IsAbs(abs) {
		return "", false
	}
	rel, ok := ospath.Child(r.root, abs)
	return filepath.ToSlash(rel), ok
}

// outside reports whether rel (slash-separated, relative to the root, clean) names a
// path outside the root.
func outside(rel string) bool {
	_, in := ospath.Child(".", filepath.FromSlash(rel))
	return !in
}

func cleanRel(rel string) string {
	if rel == "" {
		return "."
	}
	rel = strings.TrimPrefix(rel, "/")
	if rel == "" {
		return "."
	}
	// Clean only when needed: the watcher's own paths are already clean.
	if strings.Contains(rel, "//") || strings.Contains(rel, "./") || strings.HasSuffix(rel, "/") || strings.HasSuffix(rel, "/.") || strings.HasSuffix(rel, "/..") {
		return filepath.ToSlash(filepath.Clean(filepath.FromSlash(rel)))
	}
	return rel
}

// editorTemp names the kind of editor temp file name is, or returns "".
func editorTemp(name string) string {
	switch {
	case name == ".DS_Store":
		return "macOS Finder metadata"
	case isVimWriteTest(name):
		return "vim write test"
	case isVimSwap(name):
		return "vim swap"
	case strings.HasSuffix(name, "~"):
		return "backup file"
	case strings.HasPrefix(name, ".#"):
		return "emacs lock file"
	case len(name) > 2 && name[0] == '#' && name[len(name)-1] == '#':
		return "emacs auto-save file"
	case strings.HasSuffix(name, "___jb_tmp___"), strings.HasSuffix(name, "___jb_old___"):
		return "JetBrains safe-write file"
	case isSedTemp(name):
		return "sed -i temp file"
	}
	return ""
}

// isSedTemp matches the file GNU sed -i writes before renaming it over the
// original: "sed" and six random letters and digits (mkostemp's "XXXXXX").
// Names whose six are all lowercase letters ("sedentary") are taken for real
// files: a random suffix has a digit or an uppercase letter 99.4% of the
// time, and a missed temp file only shows up as one more path of the same
// save, while a real file left out of the build would be lost.
func isSedTemp(name string) bool {
	suffix, ok := strings.CutPrefix(name, "sed")
	if !ok || len(suffix) != 6 {
		return false
	}
	random := false
	for _, c := range []byte(suffix) {
		switch {
		case c >= 'a' && c <= 'z':
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			random = true
		default:
			return false
		}
	}
	return random
}

// isVimSwap matches vim's swap extensions: .swp, then .swo, .swn … .swa, and
// .swx (the permission probe).
func isVimSwap(name string) bool {
	ext := filepath.Ext(name)
	return len(ext) == 4 && len(name) > 4 && strings.HasPrefix(ext, ".sw") && (ext[3] >= 'a' && ext[3] <= 'p' || ext[3] == 'x')
}

// isVimWriteTest matches the file vim creates to test whether a directory is
// writable: "4913", then 4913+123, 4913+246, … when that name is taken.
func isVimWriteTest(name string) bool {
	if len(name) < 4 || len(name) > 9 {
		return false
	}
	n, err := strconv.Atoi(name)
	return err == nil && name[0] != '0' && n >= 4913 && (n-4913)%123 == 0
}
