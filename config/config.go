package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults applied by Parse when a key is absent.
const (
	DefaultContext     = "."
	DefaultDockerfile  = "Dockerfile"
	DefaultOutput      = "bin"
	DefaultStopSignal  = "SIGTERM"
	DefaultStopTimeout = 5 * time.Second
	DefaultDebounce    = 20 * time.Millisecond
	// DefaultMaxWait is the default watch.max_wait; when watch.debounce is set
	// above it and max_wait is absent, max_wait defaults to the debounce.
	DefaultMaxWait = 2 * time.Second
	// DefaultOnBusy is the default watch.on_busy policy: cancelling a solve frees the
	// daemon within ~45 ms (bench/cancel.sh), so a superseded build costs nothing.
	DefaultOnBusy = OnBusyRestart
)

// Values of Builder.Frontend: which Dockerfile frontend runs a Dockerfile whose first
// line is `# syntax=IMAGE`.
const (
	// FrontendAuto uses the daemon's built-in Dockerfile frontend when the syntax line
	// asks for the current stable one (docker/dockerfile:1) and the daemon's built-in
	// frontend is recent enough, and runs the syntax image otherwise.
	FrontendAuto = "auto"
	// FrontendImage always runs the syntax image, as docker build does.
	FrontendImage = "image"
)

// AddressAuto is the Builder.Address that asks for a local daemon: the one at the
// default socket, else the one devloop started, else a new one.
const AddressAuto = "auto"

// Values of Watch.OnBusy: what a change arriving during a build does.
const (
	// OnBusyRestart cancels the running build and starts a new one.
	OnBusyRestart = "restart"
	// OnBusyQueue lets the running build finish, then runs exactly one
	// follow-up build.
	OnBusyQueue = "queue"
)

// MaxDebounce is the largest accepted watch.debounce.
const MaxDebounce = 10 * time.Second

// Config is a parsed and validated devloop.yaml with defaults applied.
type Config struct {
	// File is the path of the config file as given to Load or Parse.
	File string `yaml:"-" json:"-"`
	// Dir is the absolute directory relative paths were resolved against.
	Dir string `yaml:"-" json:"-"`

	Builder Builder `yaml:"builder" json:"builder"`
	// Context is the absolute build context directory.
	Context string `yaml:"context" json:"context"`
	// Dockerfile is the absolute path of the Dockerfile.
	Dockerfile string `yaml:"dockerfile" json:"dockerfile"`
	// BuildArgs are the project-wide build arguments.
	BuildArgs map[string]string `yaml:"build_args" json:"build_args"`
	// Cache is the project-wide cache import/export configuration.
	Cache Cache `yaml:"cache" json:"cache"`
	// Secrets are the build secrets by id.
	Secrets map[string]Secret `yaml:"secrets" json:"secrets"`
	// Platforms are the project-wide platforms as written (see Target.Platforms),
	// normalized by [ParsePlatforms]; nil when not set.
	Platforms []string `yaml:"platform" json:"platform"`
	// Targets are the build targets by name.
	Targets map[string]*Target `yaml:"targets" json:"targets"`
	Watch   Watch              `yaml:"watch" json:"watch"`
	// DevTransform is the project-wide dev_transform: whether builds use the dev
	// build of the Dockerfile (Go cache mounts, no -a; see dockerfile/golang.DevBuild)
	// instead of the file as written. Default true.
	DevTransform bool `yaml:"dev_transform" json:"dev_transform"`

	// pos maps the key paths the file sets ("" is the top-level mapping) to
	// where they are written; see ErrorAt.
	pos map[string]fieldPos `yaml:"-" json:"-"`
}

// Builder says how to reach BuildKit.
type Builder struct {
	// Address is a BuildKit address (unix://, tcp://, docker-container://,
	// kube-pod://, docker://) or AddressAuto; empty means the caller decides.
	Address string `yaml:"address" json:"address"`
	// TLS is nil unless configured.
	TLS      *TLS `yaml:"tls" json:"tls"`
	Insecure bool `yaml:"insecure" json:"insecure"`
	// Frontend is FrontendAuto (the default) or FrontendImage.
	Frontend string `yaml:"frontend" json:"frontend"`
}

// TLS holds client TLS settings for the builder connection. Paths are absolute.
type TLS struct {
	CA         string `yaml:"ca" json:"ca"`
	Cert       string `yaml:"cert" json:"cert"`
	Key        string `yaml:"key" json:"key"`
	ServerName string `yaml:"server_name" json:"server_name"`
}

// Cache holds cache specs in buildctl's --import-cache/--export-cache CSV form (see
// rebuild.CheckCacheSpec), such as
// "type=registry,ref=example.com/app:cache".
type Cache struct {
	From []string `yaml:"from" json:"from"`
	To   []string `yaml:"to" json:"to"`
}

// Secret is a build secret read from exactly one of a file (absolute path) or
// an environment variable.
type Secret struct {
	File string `yaml:"file" json:"file"`
	Env  string `yaml:"env" json:"env"`
}

// Target is one thing to build and, optionally, run.
type Target struct {
	// Name is the target's key under targets.
	Name string `yaml:"-" json:"-"`
	// Stage is the Dockerfile stage to build, as devloop.yaml names it: a stage
	// name, or "stage-N" for the stage N by index. When devloop.yaml leaves it out
	// it is the target's name (Set("targets.NAME.stage") is false), and a
	// Dockerfile without a stage of that name builds its last stage
	// (dockerfile.Dockerfile.TargetStage resolves it).
	Stage string `yaml:"stage" json:"stage"`
	// Output is the absolute directory the stage's filesystem is exported to.
	Output string `yaml:"output" json:"output"`
	// BuildArgs are the project-wide build args merged with the target's own.
	BuildArgs map[string]string `yaml:"build_args" json:"build_args"`
	// Cache is the effective cache configuration: the target's from and to
	// lists where set, the project's otherwise.
	Cache Cache `yaml:"cache" json:"cache"`
	// Run is nil when the target is only built.
	Run *Run `yaml:"run" json:"run"`
	// DevTransform is the effective dev_transform: the target's where set, the
	// project's otherwise.
	DevTransform bool `yaml:"dev_transform" json:"dev_transform"`
	// Only, when set, are the context paths the target's build reads (files or
	// directories with everything below them, slash-separated, relative to the
	// context, clean): only they are sent to BuildKit and only their changes rebuild
	// the target. Nil: devloop finds out (Go builds) or sends the whole context.
	Only []string `yaml:"only" json:"only"`
	// Platforms are the platforms the target is built for, normalized by
	// [ParsePlatforms] ("linux/amd64", "darwin/arm64"; "local" is [LocalPlatform]):
	// the target's own platform key, else the project's, else, for a target with
	// run:, the local platform — its process runs on this machine. Nil means the
	// daemon's default platform, as a docker build without --platform.
	Platforms []string `yaml:"platform" json:"platform"`
}

// Run says how to run a target's output.
type Run struct {
	Command []string          `yaml:"command" json:"command"`
	Env     map[string]string `yaml:"env" json:"env"`
	// Dir is the absolute working directory.
	Dir string `yaml:"dir" json:"dir"`
	// StopSignal is a normalized signal name such as "SIGTERM".
	StopSignal  string        `yaml:"stop_signal" json:"stop_signal"`
	StopTimeout time.Duration `yaml:"stop_timeout" json:"stop_timeout"`
	// Ready is an http://, https:// or tcp:// URL probed for readiness, or "".
	Ready string `yaml:"ready" json:"ready"`
}

// Watch configures file watching.
type Watch struct {
	// Ignore holds doublestar globs relative to the context.
	Ignore   []string      `yaml:"ignore" json:"ignore"`
	Debounce time.Duration `yaml:"debounce" json:"debounce"`
	MaxWait  time.Duration `yaml:"max_wait" json:"max_wait"`
	// OnBusy is OnBusyRestart or OnBusyQueue.
	OnBusy string `yaml:"on_busy" json:"on_busy"`
}

// Grammars are the parsers of the values whose grammar belongs to the package that
// uses them. config checks each such value with its owner's parser, so that
// devloop.yaml accepts exactly what that package will, and reports what it refuses at
// the value's file:line:col. Every field must be set.
type Grammars struct {
	// CacheSpec checks a cache.from or cache.to entry (rebuild.CheckCacheSpec).
	CacheSpec func(spec string) error
	// Address checks a builder.address other than "" and "auto" (rebuild.CheckAddress).
	Address func(addr string) error
	// Ready checks a run.ready URL other than "" (supervisor.CheckReady).
	Ready func(url string) error
	// Signal checks a run.stop_signal and returns its canonical name, such as
	// "SIGTERM" (supervisor.ParseSignal).
	Signal func(name string) (string, error)
}

func (g Grammars) check() error {
	if g.CacheSpec == nil || g.Address == nil || g.Ready == nil || g.Signal == nil {
		return errors.New("config: a parser of config.Grammars is not set")
	}
	return nil
}

// Load reads and parses the config file at path, checking values with g. Relative
// paths in the file resolve against its directory; path is used as given in error
// messages. Problems in the file are returned as [Errors].
func Load(path string, g Grammars) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("load config %s: %w", path, err)
	}
	return Parse(path, data, dir, g)
}

// Parse parses and validates config data, checking values with g. name prefixes
// every error message; dir is the directory relative paths resolve against (made
// absolute if it is not). Problems in the data are returned as [Errors].
func Parse(name string, data []byte, dir string, g Grammars) (*Config, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(dir) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("parse config %s: resolve directory %s: %w", name, dir, err)
		}
		dir = abs
	}
	d := &decoder{file: name, dir: filepath.Clean(dir), grammars: g}
	c := d.decode(data)
	if len(d.errs) > 0 {
		return nil, d.sorted()
	}
	return c, nil
}

// Line returns the line of a key in the file, given as a dotted field path like
// [Error.Field] ("builder.address", "targets.server.build_args.APP_VERSION"). A key
// the file does not write (a default, or a key another version of the file had) gets
// the line of its nearest enclosing key that is written; 0 means none is.
func (c *Config) Line(field string) int {
	for ; field != ""; field = parentField(field) {
		if fp, ok := c.pos[field]; ok {
			return fp.Key.Line
		}
	}
	return 0
}

// TargetNames returns the names of all targets, sorted.
func (c *Config) TargetNames() []string {
	return slices.Sorted(maps.Keys(c.Targets))
}

// Select returns the named targets in the order given, without duplicates,
// or all targets sorted by name when names is empty. Unknown names are an
// error that lists the configured targets.
func (c *Config) Select(names []string) ([]*Target, error) {
	if len(names) == 0 {
		names = c.TargetNames()
	}
	var (
		targets []*Target
		unknown []string
		seen    = make(map[string]bool, len(names))
	)
	all := c.TargetNames()
	for _, name := range names {
		t, ok := c.Targets[name]
		switch {
		case !ok:
			msg := "unknown target " + strconv.Quote(name)
			if s := suggest(name, all); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			unknown = append(unknown, msg)
		case !seen[name]:
			seen[name] = true
			targets = append(targets, t)
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("select targets: %s; configured targets in %s: %s",
			strings.Join(unknown, "; "), c.File, strings.Join(all, ", "))
	}
	return targets, nil
}
