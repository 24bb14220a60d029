package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	pathpkg "path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/devloop/devloop/internal/ospath"
	"go.yaml.in/yaml/v3"
)

// namePattern is what target names and secret ids must match.
const namePattern = `[a-zA-Z0-9][a-zA-Z0-9_.-]*`

var (
	nameRE        = regexp.MustCompile(`^` + namePattern + `$`)
	yamlLineErrRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// defaultWatch is the watch section when the file has none.
var defaultWatch = Watch{Debounce: DefaultDebounce, MaxWait: DefaultMaxWait, OnBusy: DefaultOnBusy}

// decoder walks a YAML node tree into a Config, collecting every problem.
type decoder struct {
	file     string
	dir      string
	grammars Grammars
	errs     Errors
	pos      map[string]fieldPos    // where each key path set in the file is written
	merged   map[*yaml.Node][]entry // entries of mappings, memoized for merge keys
	active   map[*yaml.Node]bool    // mappings being expanded, to catch merge cycles
}

// entry is one key/value pair of a mapping, aliases resolved.
type entry struct {
	name     string
	key, val *yaml.Node
}

// fields maps the keys a mapping accepts to their handlers.
type fields map[string]func(path string, key, val *yaml.Node)

// targetSpec is a target as written, before project-level values are merged in.
type targetSpec struct {
	target    *Target
	args      map[string]string
	cache     cacheSpec
	dev       *bool    // dev_transform, nil when the target does not set it
	platforms []string // nil when not set
}

// cacheSpec is a cache section as written; the set flags tell an absent list
// from an empty one.
type cacheSpec struct {
	Cache
	fromSet, toSet bool
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	e := Error{File: d.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// sorted returns the collected errors ordered by position, without repeats
// (a node reached through several aliases is reported once).
func (d *decoder) sorted() Errors {
	seen := make(map[Error]bool, len(d.errs))
	var es Errors
	for _, e := range d.errs {
		if !seen[e] {
			seen[e] = true
			es = append(es, e)
		}
	}
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return es
}

func (d *decoder) decode(data []byte) *Config {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(nil, "", `file is empty; define at least one target under "targets"`)
		} else {
			d.syntaxError(err)
		}
		return nil
	}
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		d.syntaxError(err)
		return nil
	case len(extra.Content) > 0 && !isNull(extra.Content[0]):
		d.errorf(extra.Content[0], "", "multiple YAML documents are not supported")
	}
	if len(doc.Content) == 0 || isNull(resolve(doc.Content[0])) {
		d.errorf(nil, "", `file is empty; define at least one target under "targets"`)
		return nil
	}
	d.merged = make(map[*yaml.Node][]entry)
	d.active = make(map[*yaml.Node]bool)
	root := resolve(doc.Content[0])
	d.pos = map[string]fieldPos{"": {Pos{root.Line, root.Column}, Pos{root.Line, root.Column}}}
	c := d.config(root)
	if c != nil {
		c.pos = d.pos
	}
	return c
}

// record remembers where the value at path is written.
func (d *decoder) record(path string, key, val *yaml.Node) {
	if d.pos == nil {
		return
	}
	fp := fieldPos{Value: Pos{val.Line, val.Column}}
	if key != nil {
		fp.Key = Pos{key.Line, key.Column}
	} else {
		fp.Key = fp.Value
	}
	d.pos[path] = fp
}

// syntaxError records a YAML parser error, keeping its line number.
func (d *decoder) syntaxError(err error) {
	e := Error{File: d.file, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := yamlLineErrRE.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "invalid YAML: " + m[2]
	}
	d.errs = append(d.errs, e)
}

func (d *decoder) config(root *yaml.Node) *Config {
	c := &Config{File: d.file, Dir: d.dir, BuildArgs: map[string]string{}, Secrets: map[string]Secret{}}
	context, dockerfile := DefaultContext, DefaultDockerfile
	var (
		cache       cacheSpec
		specs       []*targetSpec
		targetsNode *yaml.Node
	)
	c.Watch = defaultWatch
	c.DevTransform = true
	if !d.mapping("", root, fields{
		"builder": func(p string, _, v *yaml.Node) { c.Builder = d.builder(p, v) },
		"context": func(p string, _, v *yaml.Node) {
			if s, ok := d.nonEmptyStr(p, v); ok {
				context = s
			}
		},
		"dockerfile": func(p string, _, v *yaml.Node) {
			if s, ok := d.nonEmptyStr(p, v); ok {
				dockerfile = s
			}
		},
		"build_args": func(p string, _, v *yaml.Node) { c.BuildArgs = d.stringMap(p, v) },
		"cache":      func(p string, _, v *yaml.Node) { cache = d.cache(p, v) },
		"secrets":    func(p string, _, v *yaml.Node) { c.Secrets = d.secrets(p, v) },
		"platform":   func(p string, _, v *yaml.Node) { c.Platforms = d.platforms(p, v) },
		"targets": func(p string, k, v *yaml.Node) {
			targetsNode = k
			specs = d.targets(p, k, v)
		},
		"watch":         func(p string, _, v *yaml.Node) { c.Watch = d.watch(p, v) },
		"dev_transform": func(p string, _, v *yaml.Node) { c.DevTransform = d.boolean(p, v) },
	}) {
		return nil
	}
	if targetsNode == nil {
		d.errorf(root, "targets", "missing required key; define at least one target")
	}

	if c.Builder.Frontend == "" {
		c.Builder.Frontend = FrontendAuto
	}
	c.Context = absPath(d.dir, context)
	c.Dockerfile = absPath(c.Context, dockerfile)
	c.Cache = cache.Cache
	c.Targets = make(map[string]*Target, len(specs))
	for _, ts := range specs {
		t := ts.target
		t.BuildArgs = maps.Clone(c.BuildArgs)
		maps.Copy(t.BuildArgs, ts.args)
		t.Cache = Cache{From: slices.Clone(c.Cache.From), To: slices.Clone(c.Cache.To)}
		if ts.cache.fromSet {
			t.Cache.From = ts.cache.From
		}
		if ts.cache.toSet {
			t.Cache.To = ts.cache.To
		}
		t.DevTransform = c.DevTransform
		if ts.dev != nil {
			t.DevTransform = *ts.dev
		}
		switch {
		case ts.platforms != nil:
			t.Platforms = ts.platforms
		case c.Platforms != nil:
			t.Platforms = slices.Clone(c.Platforms)
		case t.Run != nil:
			t.Platforms = []string{LocalPlatform()}
		}
		c.Targets[t.Name] = t
	}
	return c
}

func (d *decoder) builder(path string, n *yaml.Node) Builder {
	var (
		b      Builder
		tlsKey *yaml.Node
	)
	d.mapping(path, n, fields{
		"address": func(p string, _, v *yaml.Node) {
			if s, ok := d.str(p, v); ok && d.checkAddress(p, v, s) {
				b.Address = s
			}
		},
		"tls": func(p string, k, v *yaml.Node) {
			tlsKey = k
			b.TLS = d.tls(p, k, v)
		},
		"insecure": func(p string, _, v *yaml.Node) { b.Insecure = d.boolean(p, v) },
		"frontend": func(p string, _, v *yaml.Node) {
			if s, ok := d.oneOf(p, v, FrontendAuto, FrontendImage); ok {
				b.Frontend = s
			}
		},
	})

	if b.TLS != nil && b.Address != "" && !strings.HasPrefix(b.Address, "tcp://") {
		d.errorf(tlsKey, join(path, "tls"), "only supported with a tcp:// address, got %q", b.Address)
	}
	return b
}

// oneOf reads a string that must be one of two values.
func (d *decoder) oneOf(path string, n *yaml.Node, a, b string) (string, bool) {
	s, ok := d.str(path, n)
	if !ok {
		return "", false
	}
	if s != a && s != b {
		d.errorf(n, path, "must be %q or %q, got %q", a, b, s)
		return "", false
	}
	return s, true
}

// checkAddress validates a builder address, reporting false if it is invalid. ""
// (the caller decides) and "auto" (a local daemon) are devloop's own; any other
// address must be one rebuild can connect to.
func (d *decoder) checkAddress(path string, n *yaml.Node, s string) bool {
	if s == "" || s == AddressAuto {
		return true
	}
	if err := d.grammars.Address(s); err != nil {
		d.errorf(n, path, "invalid builder address %q: %v", s, err)
		return false
	}
	return true
}

func (d *decoder) tls(path string, key, n *yaml.Node) *TLS {
	if isNull(n) {
		return nil
	}
	var (
		t               TLS
		certSet, keySet bool
	)
	if !d.mapping(path, n, fields{
		"ca": func(p string, _, v *yaml.Node) { t.CA, _ = d.path(p, v, homeTilde) },
		"cert": func(p string, _, v *yaml.Node) {
			certSet = true
			t.Cert, _ = d.path(p, v, homeTilde)
		},
		"key": func(p string, _, v *yaml.Node) {
			keySet = true
			t.Key, _ = d.path(p, v, homeTilde)
		},
		"server_name": func(p string, _, v *yaml.Node) {
			t.ServerName, _ = d.str(p, v)
		},
	}) {
		return nil
	}
	if certSet != keySet {
		d.errorf(key, path, "cert and key must be set together")
	}
	return &t
}

func (d *decoder) cache(path string, n *yaml.Node) cacheSpec {
	var c cacheSpec
	d.mapping(path, n, fields{
		"from": func(p string, _, v *yaml.Node) { c.From, c.fromSet = d.cacheSpecs(p, v), true },
		"to":   func(p string, _, v *yaml.Node) { c.To, c.toSet = d.cacheSpecs(p, v), true },
	})
	return c
}

// cacheSpecs decodes a list of cache specs, each checked with the solve's parser.
func (d *decoder) cacheSpecs(path string, n *yaml.Node) []string {
	var specs []string
	for i, item := range d.seq(path, n) {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, ok := d.nonEmptyStr(p, item)
		if !ok {
			continue
		}
		if err := d.grammars.CacheSpec(s); err != nil {
			d.errorf(item, p, "%v", err)
			continue
		}
		specs = append(specs, s)
	}
	return specs
}

func (d *decoder) secrets(path string, n *yaml.Node) map[string]Secret {
	out := map[string]Secret{}
	for _, e := range d.entries(path, n) {
		p := join(path, e.name)
		if !nameRE.MatchString(e.name) {
			d.errorf(e.key, p, "invalid secret id: must match %s", namePattern)
		}
		var (
			s               Secret
			fileSet, envSet bool
		)
		if !d.mapping(p, e.val, fields{
			"file": func(p string, _, v *yaml.Node) {
				fileSet = true
				s.File, _ = d.path(p, v, homeTilde)
			},
			"env": func(p string, _, v *yaml.Node) {
				envSet = true
				if env, ok := d.nonEmptyStr(p, v); ok && strings.Contains(env, "=") {
					d.errorf(v, p, "invalid environment variable name %q", env)
				} else {
					s.Env = env
				}
			},
		}) {
			continue
		}
		if fileSet == envSet {
			d.errorf(e.key, p, "must set exactly one of file or env")
		}
		out[e.name] = s
	}
	return out
}

func (d *decoder) targets(path string, key, n *yaml.Node) []*targetSpec {
	ents := d.entries(path, n)
	if len(ents) == 0 && (isNull(n) || n.Kind == yaml.MappingNode) {
		d.errorf(key, path, "must define at least one target")
	}
	var specs []*targetSpec
	for _, e := range ents {
		p := join(path, e.name)
		if !nameRE.MatchString(e.name) {
			d.errorf(e.key, p, "invalid target name: must match %s", namePattern)
		}
		specs = append(specs, d.target(p, e.name, e.val))
	}
	return specs
}

func (d *decoder) target(path, name string, n *yaml.Node) *targetSpec {
	t := &Target{Name: name, Stage: name, Output: filepath.Join(d.dir, DefaultOutput)}
	ts := &targetSpec{target: t}
	d.mapping(path, n, fields{
		"stage": func(p string, _, v *yaml.Node) {
			if s, ok := d.nonEmptyStr(p, v); ok {
				t.Stage = s
			}
		},
		"output": func(p string, _, v *yaml.Node) {
			s, ok := d.path(p, v, plainTilde)
			if !ok {
				return
			}
			if _, inside := ospath.Child(d.dir, s); !inside {
				d.errorf(v, p, "must be inside the project directory %s", d.dir)
				return
			}
			t.Output = s
		},
		"build_args": func(p string, _, v *yaml.Node) { ts.args = d.stringMap(p, v) },
		"cache":      func(p string, _, v *yaml.Node) { ts.cache = d.cache(p, v) },
		"run":        func(p string, k, v *yaml.Node) { t.Run = d.run(p, k, v) },
		"only":       func(p string, _, v *yaml.Node) { t.Only = d.only(p, v) },
		"platform":   func(p string, _, v *yaml.Node) { ts.platforms = d.platforms(p, v) },
		"dev_transform": func(p string, _, v *yaml.Node) {
			b := d.boolean(p, v)
			ts.dev = &b
		},
	})
	return ts
}

// only reads targets.NAME.only: context paths, each a file or a directory, written
// slash-separated and relative to the context. Globs are refused (the directory that
// holds the files is the path to write), and so is a path outside the context or the
// context itself (that is leaving the key out).
func (d *decoder) only(path string, n *yaml.Node) []string {
	items := d.seq(path, n)
	if len(items) == 0 && (n.Kind == yaml.SequenceNode || isNull(n)) {
		d.errorf(n, path, "must list at least one path; leave the key out to send the whole build context")
		return nil
	}
	out := []string{}
	for i, item := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, ok := d.nonEmptyStr(p, item)
		if !ok {
			continue
		}
		clean := pathpkg.Clean(s)
		switch {
		case strings.ContainsAny(s, "*?["):
			d.errorf(item, p, "%q is a glob: list the file or the directory that holds the files (everything below a directory is sent)", s)
		case strings.Contains(s, `\`):
			d.errorf(item, p, "%q: write paths with / as the separator", s)
		case pathpkg.IsAbs(s) || filepath.IsAbs(s):
			d.errorf(item, p, "%q is absolute: write it relative to the build context", s)
		case clean == "..", strings.HasPrefix(clean, "../"):
			d.errorf(item, p, "%q is outside the build context", s)
		case clean == ".":
			d.errorf(item, p, "%q is the whole build context: leave the key out instead", s)
		default:
			out = append(out, clean)
		}
	}
	return out
}

// platforms decodes a platform key: one platform, a comma-separated list of them as
// for docker build --platform, or a list of either, parsed by [ParsePlatforms]. It
// returns nil when nothing valid is set.
func (d *decoder) platforms(path string, n *yaml.Node) []string {
	var items []*yaml.Node
	var paths []string
	switch {
	case n.Kind == yaml.SequenceNode:
		items = d.seq(path, n)
		if len(items) == 0 {
			d.errorf(n, path, "must not be empty; %s", platformSyntax)
			return nil
		}
		for i := range items {
			paths = append(paths, fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		items, paths = []*yaml.Node{n}, []string{path}
	}
	var out []string
	ok := true
	for i, item := range items {
		s, valid := d.str(paths[i], item)
		if !valid {
			ok = false
			continue
		}
		ps, err := ParsePlatforms(s)
		if err != nil {
			d.errorf(item, paths[i], "%v", err)
			ok = false
			continue
		}
		for _, p := range ps {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	if !ok {
		return nil
	}
	return out
}

func (d *decoder) run(path string, key, n *yaml.Node) *Run {
	if isNull(n) {
		return nil
	}
	r := &Run{Env: map[string]string{}, Dir: d.dir, StopSignal: DefaultStopSignal, StopTimeout: DefaultStopTimeout}
	commandSet := false
	if !d.mapping(path, n, fields{
		"command": func(p string, _, v *yaml.Node) {
			commandSet = true
			r.Command = d.command(p, v)
		},
		"env": func(p string, _, v *yaml.Node) { r.Env = d.stringMap(p, v) },
		"dir": func(p string, _, v *yaml.Node) {
			if s, ok := d.path(p, v, plainTilde); ok {
				r.Dir = s
			}
		},
		"stop_signal": func(p string, _, v *yaml.Node) {
			if s, ok := d.signal(p, v); ok {
				r.StopSignal = s
			}
		},
		"stop_timeout": func(p string, _, v *yaml.Node) {
			dur, ok := d.duration(p, v)
			switch {
			case !ok:
			case dur <= 0:
				d.errorf(v, p, "must be greater than 0, got %s", dur)
			default:
				r.StopTimeout = dur
			}
		},
		"ready": func(p string, _, v *yaml.Node) {
			if s, ok := d.str(p, v); ok && d.checkReady(p, v, s) {
				r.Ready = s
			}
		},
	}) {
		return nil
	}
	if !commandSet {
		d.errorf(key, path, `missing required key "command"`)
	}
	return r
}

func (d *decoder) command(path string, n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		quoted := make([]string, 0, 4)
		for _, f := range strings.Fields(n.Value) {
			quoted = append(quoted, strconv.Quote(f))
		}
		d.errorf(n, path, "must be a list, not a string: write [%s]", strings.Join(quoted, ", "))
		return nil
	}
	items := d.seq(path, n)
	if len(items) == 0 && (n.Kind == yaml.SequenceNode || isNull(n)) {
		d.errorf(n, path, "must not be empty")
		return nil
	}
	var cmd []string
	for i, item := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, ok := d.scalar(p, item)
		if ok && i == 0 && s == "" {
			d.errorf(item, p, "must not be empty")
		}
		cmd = append(cmd, s)
	}
	return cmd
}

// checkReady validates a readiness probe URL, reporting false if it is invalid.
func (d *decoder) checkReady(path string, n *yaml.Node, s string) bool {
	if s == "" {
		return true
	}
	if err := d.grammars.Ready(s); err != nil {
		d.errorf(n, path, "%v", err)
		return false
	}
	return true
}

// signal reads a stop signal and returns its canonical name.
func (d *decoder) signal(path string, n *yaml.Node) (string, bool) {
	s, ok := d.nonEmptyStr(path, n)
	if !ok {
		return "", false
	}
	sig, err := d.grammars.Signal(s)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return "", false
	}
	return sig, true
}

func (d *decoder) watch(path string, n *yaml.Node) Watch {
	w := defaultWatch
	var maxWait *yaml.Node
	d.mapping(path, n, fields{
		"ignore": func(p string, _, v *yaml.Node) {
			for i, item := range d.seq(p, v) {
				ip := fmt.Sprintf("%s[%d]", p, i)
				s, ok := d.nonEmptyStr(ip, item)
				if !ok {
					continue
				}
				if !doublestar.ValidatePattern(s) {
					d.errorf(item, ip, "invalid glob %q", s)
					continue
				}
				w.Ignore = append(w.Ignore, s)
			}
		},
		"debounce": func(p string, _, v *yaml.Node) {
			dur, ok := d.duration(p, v)
			switch {
			case !ok:
			case dur < 0:
				d.errorf(v, p, "must not be negative, got %s", dur)
			case dur > MaxDebounce:
				d.errorf(v, p, "must be at most %s, got %s", MaxDebounce, dur)
			default:
				w.Debounce = dur
			}
		},
		"max_wait": func(p string, _, v *yaml.Node) {
			if dur, ok := d.duration(p, v); ok {
				maxWait, w.MaxWait = v, dur
			}
		},
		"on_busy": func(p string, _, v *yaml.Node) {
			if s, ok := d.oneOf(p, v, OnBusyRestart, OnBusyQueue); ok {
				w.OnBusy = s
			}
		},
	})
	switch {
	case maxWait == nil:
		w.MaxWait = max(w.MaxWait, w.Debounce)
	case w.MaxWait < w.Debounce:
		d.errorf(maxWait, join(path, "max_wait"), "must not be less than debounce (%s), got %s", w.Debounce, w.MaxWait)
	}
	return w
}

// stringMap decodes a mapping of names to scalars, keeping each scalar's
// literal text so that `CGO_ENABLED: 0` yields "0".
func (d *decoder) stringMap(path string, n *yaml.Node) map[string]string {
	out := map[string]string{}
	for _, e := range d.entries(path, n) {
		p := join(path, e.name)
		if e.name == "" || strings.ContainsAny(e.name, "= \t\n") {
			d.errorf(e.key, p, "invalid name %q: must be non-empty without spaces or \"=\"", e.name)
			continue
		}
		if s, ok := d.scalar(p, e.val); ok {
			out[e.name] = s
		}
	}
	return out
}

// mapping calls the handler in fs for each key of the mapping n and reports
// unknown keys. A null n is an empty mapping. It reports false if n is not a
// mapping.
func (d *decoder) mapping(path string, n *yaml.Node, fs fields) bool {
	if !isNull(n) && n.Kind != yaml.MappingNode {
		d.typeError(path, n, "a mapping")
		return false
	}
	for _, e := range d.entries(path, n) {
		p := join(path, e.name)
		f, ok := fs[e.name]
		if !ok {
			msg := "unknown key"
			if s := suggest(e.name, slices.Sorted(maps.Keys(fs))); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			d.errorf(e.key, p, "%s", msg)
			continue
		}
		f(p, e.key, e.val)
	}
	return true
}

// entries returns the pairs of the mapping n in document order, with merge
// keys (<<) expanded and duplicate keys reported. A null n has no entries;
// any other non-mapping is reported.
func (d *decoder) entries(path string, n *yaml.Node) []entry {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.typeError(path, n, "a mapping")
		return nil
	}
	if ents, ok := d.merged[n]; ok {
		d.recordEntries(path, ents)
		return ents
	}
	d.active[n] = true
	defer delete(d.active, n)

	var (
		ents    []entry
		first   = map[string]*yaml.Node{}
		sources []entry // merge key, source mapping
	)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.errorf(k, path, "mapping keys must be strings")
			continue
		}
		if k.ShortTag() == "!!merge" {
			switch v.Kind {
			case yaml.MappingNode:
				sources = append(sources, entry{key: k, val: v})
			case yaml.SequenceNode:
				for _, s := range v.Content {
					sources = append(sources, entry{key: k, val: resolve(s)})
				}
			default:
				d.errorf(v, join(path, k.Value), "merge value must be a mapping or a list of mappings")
			}
			continue
		}
		if prev, dup := first[k.Value]; dup {
			d.errorf(k, join(path, k.Value), "duplicate key (first defined at line %d)", prev.Line)
			continue
		}
		first[k.Value] = k
		if isNull(v) && v.Value == "" {
			// An implicit null has no position of its own; point at its key.
			implicit := *v
			implicit.Line, implicit.Column = k.Line, k.Column
			v = &implicit
		}
		ents = append(ents, entry{name: k.Value, key: k, val: v})
	}
	for _, src := range sources {
		switch {
		case src.val.Kind != yaml.MappingNode:
			d.errorf(src.val, path, "merge value must be a mapping or a list of mappings")
			continue
		case d.active[src.val]:
			d.errorf(src.key, path, "merge key refers to its own mapping")
			continue
		}
		for _, e := range d.entries(path, src.val) {
			if first[e.name] == nil {
				first[e.name] = e.key
				ents = append(ents, e)
			}
		}
	}
	d.merged[n] = ents
	d.recordEntries(path, ents)
	return ents
}

func (d *decoder) recordEntries(path string, ents []entry) {
	for _, e := range ents {
		d.record(join(path, e.name), e.key, e.val)
	}
}

// seq returns the items of the list n, aliases resolved. A null n is empty;
// any other non-list is reported.
func (d *decoder) seq(path string, n *yaml.Node) []*yaml.Node {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.typeError(path, n, "a list")
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, item := range n.Content {
		items[i] = resolve(item)
		// An alias is reported where it is written, not where its anchor is.
		d.record(fmt.Sprintf("%s[%d]", path, i), nil, item)
	}
	return items
}

// scalar returns the literal text of a non-null scalar.
func (d *decoder) scalar(path string, n *yaml.Node) (string, bool) {
	switch {
	case isNull(n):
		d.errorf(n, path, `must be a string (write "" for an empty value)`)
		return "", false
	case n.Kind != yaml.ScalarNode:
		d.typeError(path, n, "a string")
		return "", false
	}
	return n.Value, true
}

// str returns a string scalar; null counts as "".
func (d *decoder) str(path string, n *yaml.Node) (string, bool) {
	switch {
	case isNull(n):
		return "", true
	case n.Kind == yaml.ScalarNode && n.ShortTag() != "!!str":
		d.errorf(n, path, "must be a string; quote it: %q", n.Value)
		return "", false
	case n.Kind != yaml.ScalarNode:
		d.typeError(path, n, "a string")
		return "", false
	}
	return n.Value, true
}

func (d *decoder) nonEmptyStr(path string, n *yaml.Node) (string, bool) {
	s, ok := d.str(path, n)
	if ok && s == "" {
		d.errorf(n, path, "must not be empty")
		return "", false
	}
	return s, ok
}

// tilde says what a leading ~ of a path means.
type tilde bool

const (
	// homeTilde: ~/ is the home directory, in paths of the user's own files (TLS
	// material, secrets).
	homeTilde tilde = true
	// plainTilde: ~ is a name like any other, in paths of the project's files.
	plainTilde tilde = false
)

// path returns a non-empty path made absolute against the project
// directory, expanding a leading ~/ to the home directory for homeTilde.
func (d *decoder) path(path string, n *yaml.Node, t tilde) (string, bool) {
	s, ok := d.nonEmptyStr(path, n)
	if !ok {
		return "", false
	}
	if t == homeTilde && (s == "~" || strings.HasPrefix(s, "~/")) {
		h, err := os.UserHomeDir()
		if err != nil {
			d.errorf(n, path, "expand %q: %v", s, err)
			return "", false
		}
		s = filepath.Join(h, s[1:])
	}
	return absPath(d.dir, s), true
}

func (d *decoder) boolean(path string, n *yaml.Node) bool {
	var b bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
		d.errorf(n, path, "must be true or false")
	}
	return b
}

func (d *decoder) duration(path string, n *yaml.Node) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.errorf(n, path, `must be a duration such as "50ms" or "2s"`)
		return 0, false
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.errorf(n, path, "invalid duration %q: %v", n.Value, err)
		return 0, false
	}
	return dur, true
}

func (d *decoder) typeError(path string, n *yaml.Node, want string) {
	if path == "" {
		d.errorf(n, "", "the top level must be a mapping")
		return
	}
	d.errorf(n, path, "must be %s", want)
}

// resolve follows aliases to the node they refer to.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// join appends key to a dotted key path, quoting keys that would make the
// path ambiguous or break the one-problem-per-line error format.
func join(path, key string) string {
	if key == "" || strings.ContainsFunc(key, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// absPath resolves p against dir unless it is absolute.
func absPath(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// suggest returns the candidate closest to s by edit distance, or "" if none
// is close enough to be a likely typo.
func suggest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		dist := editDistance(strings.ToLower(s), strings.ToLower(c))
		if dist < bestDist && dist*3 <= len(s)+1 {
			best, bestDist = c, dist
		}
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	dist := make([][]int, len(ra)+1)
	for i := range dist {
		dist[i] = make([]int, len(rb)+1)
		dist[i][0] = i
	}
	for j := range dist[0] {
		dist[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			dist[i][j] = min(dist[i-1][j]+1, dist[i][j-1]+1, dist[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				dist[i][j] = min(dist[i][j], dist[i-2][j-2]+1)
			}
		}
	}
	return dist[len(ra)][len(rb)]
}
