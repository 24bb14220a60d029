// Package feedback keeps devloop's own output from feeding back into its watch set.
//
// `devloop up 2>&1 | tee dev.log` in the project writes every line devloop prints into
// a file of the build context; if that file counted as an edit, each line would start
// a build, which prints a line, which starts a build. A [Detector] recognises such
// files in two ways:
//
//   - Sinks (precise, Linux): the files that receive this process's output. A standard
//     output or error that is a regular file (`> up.log`) is one. When it is a pipe,
//     the processes whose standard input is that pipe — the next stages of a shell
//     pipeline (tee, cat, grep, ts) — are found in /proc, and every regular file they
//     hold open for writing is a sink; pipes they write to are followed the same way
//     (`| cat | tee dev.log`). Only a standard input counts as a pipeline stage: a
//     program that reads devloop's output on another descriptor (an editor running it
//     as a job) is not a stage, so the source files it saves are never taken for
//     output. Sinks are found once by [New]'s first [Detector.Sinks] call and again,
//     at most once per Options.Rescan, when a changed file is not a known sink: tee may
//     open its file after devloop started.
//   - Echoes (heuristic, every platform): a changed file one of whose last four lines
//     ends with a line devloop recently printed through [Detector.Writer] echoes
//     devloop's output (other lines may interleave: `2>&1` mixes in stderr). When
//     Options.Builds builds in a row were started only for such files, they are
//     convicted: [Detector.BuildStarted] returns them once, and from then on they are
//     devloop's own output. This catches what the scan cannot see: other platforms, a
//     pty (`script`), a writer that reopens its file for every line.
//
// Paths are absolute, as the caller passes them. The package reads files and /proc
// only; it never changes anything.
package feedback

import (
	"bytes"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Defaults for zero Options fields.
const (
	DefaultRescan = 250 * time.Millisecond
	DefaultBuilds = 3
)

const (
	recentLines = 64   // lines of devloop's output remembered for the echo check
	minEcho     = 12   // shorter lines ("", "}", "ok") prove nothing
	tailBytes   = 4096 // how much of a changed file's end is read
	tailLines   = 4    // its last lines, one of which must echo (stderr lines interleave)
	maxLine     = 4096 // a longer output line is remembered by its end
)

// Options configures a Detector.
type Options struct {
	// Outputs are this process's output files (os.Stdout, os.Stderr); others are
	// ignored by the scan.
	Outputs []*os.File
	// Rescan is the least time between two scans for sinks; zero means DefaultRescan.
	Rescan time.Duration
	// Builds is how many builds in a row started only for files that echo devloop's
	// output convict those files; zero means DefaultBuilds.
	Builds int
	// Logger receives debug logs; nil disables logging.
	Logger *zap.Logger
}

// Detector tells devloop's own output files from edits. Its methods are safe for
// concurrent use.
type Detector struct {
	opts Options
	log  *zap.Logger
	now  func() time.Time

	mu        sync.Mutex
	scanned   time.Time       // last scan; zero before the first
	pipes     bool            // an output is a pipe: a rescan may find new sinks
	sinks     []sink          // from the last scan
	convicted map[string]bool // echo files convicted by BuildStarted
	lines     []string        // devloop's recent output lines, oldest first
	partial   []byte          // output after the last newline
	streak    int             // builds in a row started only for echoing files
	suspects  map[string]bool // the files of the streak
}

// sink is a file receiving this process's output.
type sink struct {
	path string
	fi   os.FileInfo // nil when it could not be read
}

// New returns a Detector; it does not scan yet.
func New(opts Options) *Detector {
	if opts.Rescan <= 0 {
		opts.Rescan = DefaultRescan
	}
	if opts.Builds <= 0 {
		opts.Builds = DefaultBuilds
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	return &Detector{opts: opts, log: log.Named("feedback"), now: time.Now, convicted: map[string]bool{}, suspects: map[string]bool{}}
}

// Sinks scans now and returns the files that receive this process's output, sorted.
func (d *Detector) Sinks() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.scan()
	out := make([]string, 0, len(d.sinks))
	for _, s := range d.sinks {
		out = append(out, s.path)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Own reports whether a change to path is devloop's own output: a sink or a convicted
// echo file. A path that is neither triggers a rescan unless one ran less than
// Options.Rescan ago (or no output is a pipe, so none could find anything new).
func (d *Detector) Own(path string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.convicted[path] || d.isSink(path) {
		return true
	}
	if d.scanned.IsZero() || (d.pipes && d.now().Sub(d.scanned) >= d.opts.Rescan) {
		d.scan()
		return d.isSink(path)
	}
	return false
}

func (d *Detector) scan() {
	d.scanned = d.now()
	sinks, pipes, err := outputSinks(d.opts.Outputs)
	if err != nil {
		d.log.Debug("scan for output files", zap.Error(err))
	}
	d.pipes = pipes
	d.sinks = d.sinks[:0]
	for _, p := range sinks {
		fi, _ := os.Stat(p)
		d.sinks = append(d.sinks, sink{path: p, fi: fi})
	}
	if len(sinks) > 0 {
		d.log.Debug("files receiving devloop's output", zap.Strings("paths", sinks))
	}
}

// isSink compares by path, then by file identity (a symlinked context, a bind mount).
func (d *Detector) isSink(path string) bool {
	if len(d.sinks) == 0 {
		return false
	}
	for _, s := range d.sinks {
		if s.path == path {
			return true
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	for _, s := range d.sinks {
		if s.fi != nil && os.SameFile(s.fi, fi) {
			return true
		}
	}
	return false
}

// Writer returns w, remembering the lines written through it for the echo check.
func (d *Detector) Writer(w io.Writer) io.Writer {
	return writer{d: d, w: w}
}

type writer struct {
	d *Detector
	w io.Writer
}

func (w writer) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.d.wrote(p[:n])
	return n, err
}

func (d *Detector) wrote(p []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			d.partial = append(d.partial, p...)
			if over := len(d.partial) - maxLine; over > 0 {
				d.partial = d.partial[over:]
			}
			return
		}
		line := append(d.partial, p[:i]...)
		d.partial = d.partial[:0]
		p = p[i+1:]
		if l := trimLine(line); len(l) >= minEcho {
			if len(l) > maxLine {
				l = l[len(l)-maxLine:]
			}
			if len(d.lines) == recentLines {
				d.lines = slices.Delete(d.lines, 0, 1)
			}
			d.lines = append(d.lines, string(l))
		}
	}
}

// BuildStarted tells the detector that a build started for paths. When it is the
// Options.Builds-th build in a row whose every path echoes devloop's output, those
// files are convicted: it returns them (sorted), once, and Own reports them from then
// on. Builds with no paths (the initial build) or more than a handful do not count.
func (d *Detector) BuildStarted(paths []string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(paths) == 0 || len(paths) > 8 || !d.allEcho(paths) {
		d.streak = 0
		clear(d.suspects)
		return nil
	}
	d.streak++
	for _, p := range paths {
		d.suspects[p] = true
	}
	if d.streak < d.opts.Builds {
		return nil
	}
	var out []string
	for p := range d.suspects {
		if !d.convicted[p] {
			d.convicted[p] = true
			out = append(out, p)
		}
	}
	d.streak = 0
	clear(d.suspects)
	slices.Sort(out)
	d.log.Debug("files that echo devloop's output started builds in a row", zap.Strings("paths", out), zap.Int("builds", d.opts.Builds))
	return out
}

func (d *Detector) allEcho(paths []string) bool {
	for _, p := range paths {
		if !d.convicted[p] && !d.echoes(p) {
			return false
		}
	}
	return true
}

// echoes reports whether path is a regular file one of whose last lines ends with a
// line devloop printed recently (a pipeline stage may prefix a timestamp).
func (d *Detector) echoes(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	off := max(fi.Size()-tailBytes, 0)
	buf := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(buf, off)
	for _, last := range lastLines(buf[:n], tailLines) {
		if len(last) < minEcho {
			continue
		}
		for _, l := range d.lines {
			if bytes.HasSuffix(last, []byte(l)) {
				return true
			}
		}
	}
	return false
}

// lastLines returns up to n of the last lines of b, newest first, without line endings.
func lastLines(b []byte, n int) [][]byte {
	var out [][]byte
	b = bytes.TrimRight(b, "\r\n")
	for len(b) > 0 && len(out) < n {
		i := bytes.LastIndexByte(b, '\n')
		out = append(out, trimLine(b[i+1:]))
		b = b[:max(i, 0)]
	}
	return out
}

func trimLine(b []byte) []byte {
	return bytes.TrimRight(b, "\r")
}
