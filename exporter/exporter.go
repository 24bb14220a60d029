package exporter

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/devloop/devloop/internal/ospath"
	"github.com/gofrs/flock"
	"go.uber.org/zap"
)

const (
	// outsideStagingPrefix starts the names of staging dirs created inside
	// OutputDir when StateDir is on another mount.
	outsideStagingPrefix = ".devloop-staging-"
	// stagedTreeDir is the staging dir's subdirectory BuildKit exports into;
	// the journal sits beside it.
	stagedTreeDir = "out"
	journalName   = "journal.json"
)

// Options configures an Exporter.
type Options struct {
	// OutputDir is the absolute directory exports are swapped into. It may be
	// the project root itself (output "." with files like bin/server). It is
	// created if missing.
	OutputDir string
	// StateDir is the absolute directory for devloop's state, e.g.
	// <project>/.devloop: manifests, locks and, normally, staging dirs.
	StateDir string
	// Target names the build target. It is used in file names, so it must be
	// a single path element.
	Target string
	// Logger receives debug and recovery logs; nil disables logging.
	Logger *zap.Logger
	// Owner names this process in lock files, for other processes' messages
	// ("devloop up"); its pid is added.
	Owner string
	// Exclusive holds the target for the Exporter's lifetime: New fails with a
	// [*HeldError] while another exclusive Exporter of the target is open.
	// Without it, processes share the target and only their swaps take turns.
	Exclusive bool
	// Waiting, if set, is called before a swap (or New's recovery) waits for
	// another process's swap of the target, with that process's description
	// ("devloop up (pid 4242)"). Swaps take milliseconds.
	Waiting func(holder string)
	// Outputs, if set, is the registry New adds the files of the target's last
	// export to, and Commit every file and symlink it is about to swap in.
	Outputs *Outputs

	// afterRename, set by tests, runs after each rename; an error stops the
	// swap there as a crash would.
	afterRename func(rel string) error
}

// Exporter swaps staged exports of one target into its output directory.
// Its methods are safe for concurrent use; a Staging is used by one goroutine.
type Exporter struct {
	out         string // cleaned OutputDir
	realOut     string // OutputDir with symlinks resolved
	state       string
	target      string
	owner       string
	waiting     func(holder string)
	outputs     *Outputs // nil: no registry
	log         *zap.Logger
	afterRename func(rel string) error

	stagingParent string // where Begin creates staging dirs
	stagingPrefix string // their name prefix, followed by a random suffix
	reserved      string // slash path of StateDir relative to OutputDir, "" if outside

	mu        sync.Mutex
	closed    bool
	exclusive *flock.Flock // Options.Exclusive's lifetime lock, or nil
	// man is the target's manifest as this Exporter last saw it: read by New,
	// written by its commits. Another process's commit shows as a manifest on
	// disk with a different Seq.
	man  manifest
	open map[*Staging]bool // open stagings, whose staging dir locks Close releases
}

// New validates the output directory, creates it if missing, takes the
// target's exclusive lock if asked to, and recovers what a previous run of
// this target left behind: staging dirs with a journal are rolled forward,
// those of dead processes removed.
func New(opts Options) (*Exporter, error) {
	if opts.Target == "" || opts.Target == "." || opts.Target == ".." || strings.ContainsAny(opts.Target, `/\`) {
		return nil, fmt.Errorf("invalid target name %q: must be a single path element", opts.Target)
	}
	if !filepath.IsAbs(opts.OutputDir) {
		return nil, fmt.Errorf("output dir %q of target %q is not an absolute path", opts.OutputDir, opts.Target)
	}
	if !filepath.IsAbs(opts.StateDir) {
		return nil, fmt.Errorf("state dir %q of target %q is not an absolute path", opts.StateDir, opts.Target)
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	e := &Exporter{
		out:         filepath.Clean(opts.OutputDir),
		state:       filepath.Clean(opts.StateDir),
		target:      opts.Target,
		owner:       opts.Owner,
		waiting:     opts.Waiting,
		outputs:     opts.Outputs,
		log:         log.Named("exporter").With(zap.String("target", opts.Target)),
		afterRename: opts.afterRename,
		open:        map[*Staging]bool{},
	}
	if err := prepareOutputDir(e.out); err != nil {
		return nil, &OutputDirError{Target: e.target, Dir: e.out, Err: err}
	}
	realOut, err := filepath.EvalSymlinks(e.out)
	if err != nil {
		return nil, fmt.Errorf("resolve output dir %s: %w", e.out, err)
	}
	e.realOut = realOut
	for _, d := range []string{e.stagingRoot(), e.manifestDir(), filepath.Join(e.state, "locks")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create state dir %s: %w", d, err)
		}
	}
	if opts.Exclusive {
		if e.exclusive, err = e.lockExclusive(); err != nil {
			return nil, err
		}
	}
	if err := e.init(); err != nil {
		_ = e.Close()
		return nil, err
	}
	if e.outputs != nil {
		e.outputs.addFiles(e.out, e.man.files())
	}
	return e, nil
}

// OutputDirError is New's error when the output directory cannot be used.
type OutputDirError struct {
	Target, Dir string
	Err         error
}

func (e *OutputDirError) Error() string { return e.Err.Error() }

func (e *OutputDirError) Unwrap() error { return e.Err }

// init chooses the staging location, loads the manifest and recovers.
func (e *Exporter) init() error {
	same, err := sameMount(e.stagingRoot(), e.out)
	if err != nil {
		return err
	}
	if same {
		e.stagingParent, e.stagingPrefix = e.stagingRoot(), e.target+"-"
	} else {
		e.stagingParent, e.stagingPrefix = e.out, outsideStagingPrefix+e.target+"-"
		e.log.Debug("state dir is on another mount; staging inside the output dir",
			zap.String("state_dir", e.state), zap.String("output_dir", e.out))
	}
	if realState, err := filepath.EvalSymlinks(e.state); err == nil {
		if rel, ok := ospath.Child(e.realOut, realState); ok && rel != "." {
			e.reserved = filepath.ToSlash(rel)
		}
	}
	unlock, err := e.lockSwap()
	if err != nil {
		return err
	}
	defer unlock()
	return e.recover()
}

// Close releases the target's locks. Stages still open are abandoned as if the
// process had died: the next New or commit of the target removes their
// staging dirs. The Exporter must not be used afterwards.
func (e *Exporter) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	for s := range e.open {
		s.unlock()
	}
	if e.exclusive != nil {
		if err := e.exclusive.Unlock(); err != nil {
			return fmt.Errorf("release lock of target %q: %w", e.target, err)
		}
	}
	return nil
}

// ExportedFiles returns what [Exporter.Files] would, from the target's last
// manifest, without locking, creating or recovering anything: for commands that
// only look. A missing or unreadable manifest yields none.
func ExportedFiles(opts Options) ([]string, error) {
	if !filepath.IsAbs(opts.OutputDir) || !filepath.IsAbs(opts.StateDir) {
		return nil, fmt.Errorf("exported files of target %q: output dir %q and state dir %q must be absolute paths",
			opts.Target, opts.OutputDir, opts.StateDir)
	}
	e := &Exporter{out: filepath.Clean(opts.OutputDir), state: filepath.Clean(opts.StateDir), target: opts.Target, log: zap.NewNop()}
	m, err := e.loadManifest()
	if err != nil {
		return nil, err
	}
	return m.files(), nil
}

// Files returns the slash-separated paths, relative to OutputDir and sorted,
// of the files and symlinks the target's last export produced. Exclude them
// from the build context and the watch set.
func (e *Exporter) Files() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.man.files()
}

// Begin creates an empty staging dir for one export. It takes the swap lock for
// a moment, so it may wait for another process's swap.
func (e *Exporter) Begin() (*Staging, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, fmt.Errorf("begin export of target %q: %w", e.target, errClosed)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("create staging dir in %s: %w", e.stagingParent, err)
	}
	// Under the swap lock, so no other process's recovery sees the dir before
	// it is locked as live.
	unlock, err := e.lockSwap()
	if err != nil {
		return nil, err
	}
	defer unlock()
	base := filepath.Join(e.stagingParent, e.stagingPrefix+hex.EncodeToString(b[:]))
	if err := os.Mkdir(base, 0o700); err != nil {
		return nil, fmt.Errorf("create staging dir %s: %w", base, err)
	}
	live, ok, err := lockDir(base)
	if err == nil && !ok {
		err = fmt.Errorf("lock staging dir %s: already locked", base)
	}
	if err != nil {
		_ = os.Remove(base)
		return nil, err
	}
	dir := filepath.Join(base, stagedTreeDir)
	if err := os.Mkdir(dir, 0o755); err != nil {
		_ = live.Unlock()
		_ = os.Remove(base)
		return nil, fmt.Errorf("create staging dir %s: %w", dir, err)
	}
	s := &Staging{e: e, base: base, dir: dir, live: live}
	e.open[s] = true
	return s, nil
}

type stagingState int

const (
	stagingOpen stagingState = iota
	stagingDone              // committed or discarded: the dir is gone
	stagingKept              // swap failed midway: kept for roll-forward
)

// Staging is one export's staging dir. Callers defer Discard right after Begin.
type Staging struct {
	e     *Exporter
	base  string
	dir   string
	state stagingState
	live  *flock.Flock // the staging dir's lock while the stage is open
}

// unlock releases the staging dir's lock; the caller holds e.mu.
func (s *Staging) unlock() {
	if s.live != nil {
		_ = s.live.Unlock()
		s.live = nil
	}
	delete(s.e.open, s)
}

// Dir is the directory BuildKit's local exporter writes into.
func (s *Staging) Dir() string { return s.dir }

// Discard removes the staging dir, leaving OutputDir untouched. It is
// idempotent and does nothing after Commit. After a Commit that failed midway
// through the swap it keeps the dir, whose journal the next Commit or New
// rolls forward.
func (s *Staging) Discard() error {
	s.e.mu.Lock()
	defer s.e.mu.Unlock()
	if s.state != stagingOpen {
		return nil
	}
	s.state = stagingDone
	defer s.unlock()
	return removeTree(s.base)
}

// stagingRoot is StateDir/staging.
func (e *Exporter) stagingRoot() string { return filepath.Join(e.state, "staging") }

// isStagingName reports whether name is a staging dir name of this target,
// as Begin creates in dir. Other targets' names never match: the suffix must
// be exactly the random hex.
func isStagingName(name, prefix string) bool {
	suffix, ok := strings.CutPrefix(name, prefix)
	if !ok || len(suffix) != 16 {
		return false
	}
	_, err := hex.DecodeString(suffix)
	return err == nil
}

// abs turns a slash path relative to OutputDir into an OS path.
func (e *Exporter) abs(rel string) string {
	return filepath.Join(e.out, filepath.FromSlash(rel))
}

// reservedPath reports whether phys (slash, relative to OutputDir) lies in
// devloop's state dir or is a staging dir inside OutputDir.
func (e *Exporter) reservedPath(phys string) bool {
	if e.reserved != "" {
		if _, in := ospath.Child(e.reserved, phys); in {
			return true
		}
	}
	first, _, _ := strings.Cut(phys, "/")
	return strings.HasPrefix(first, outsideStagingPrefix)
}

func prepareOutputDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create output dir %s: %w", dir, err)
		}
		fi, err = os.Stat(dir)
	}
	if err != nil {
		return fmt.Errorf("stat output dir %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("output dir %s is a %s, not a directory", dir, describe(fi.Mode()))
	}
	return checkWritable(dir, fi.Mode())
}

// removeTree removes dir and everything below it, making directories
// writable first if a plain RemoveAll is refused (exports may contain
// read-only directories).
func removeTree(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove staging dir %s: %w", dir, err)
	}
	return nil
}

// describe names a file type for error messages.
func describe(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "irregular file"
	}
}

// parentDir is path.Dir with "" for top-level entries.
func parentDir(rel string) string {
	if d := path.Dir(rel); d != "." {
		return d
	}
	return ""
}
