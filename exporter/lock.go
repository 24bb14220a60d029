package exporter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gofrs/flock"
	"go.uber.org/zap"
)

// Locks (flock(2) through github.com/gofrs/flock; the kernel drops them when
// the process dies, so none is ever stale):
//
//   - StateDir/locks/<target>.lock, the swap lock: held only while one process
//     recovers, creates a staging dir or swaps, a few milliseconds. Others wait
//     for it (Options.Waiting hears about it).
//   - StateDir/locks/<target>.exclusive.lock: held for an Exporter's lifetime
//     when Options.Exclusive is set; a second exclusive Exporter fails fast.
//   - each staging dir itself, while its Staging is open, so that another
//     process's recovery tells a live export from a killed one's leftover.
//
// The two lock files hold "<pid> <owner>" of their last holder, for messages.

// HeldError is New's error when another exclusive Exporter of the target is open.
type HeldError struct {
	Target string
	// Holder describes the process holding the target, e.g. "devloop up (pid 4242)".
	Holder string
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("target %q is held by %s", e.Target, e.Holder)
}

func (e *Exporter) lockPath(suffix string) string {
	return filepath.Join(e.state, "locks", e.target+suffix)
}

// lockSwap takes the target's swap lock, waiting while another process holds it;
// before it waits it calls the Waiting hook once with the holder. It returns the
// function that releases the lock.
func (e *Exporter) lockSwap() (unlock func(), err error) {
	path := e.lockPath(".lock")
	fl := flock.New(path, flock.SetPermissions(0o644))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if !ok {
		holder := readHolder(path)
		e.log.Debug("waiting for the swap lock", zap.String("holder", holder))
		if e.waiting != nil {
			e.waiting(holder)
		}
		if err := fl.Lock(); err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
	e.writeHolder(path)
	return func() { _ = fl.Unlock() }, nil
}

// lockExclusive takes the target's lifetime lock without waiting.
func (e *Exporter) lockExclusive() (*flock.Flock, error) {
	path := e.lockPath(".exclusive.lock")
	fl := flock.New(path, flock.SetPermissions(0o644))
	ok, err := fl.TryLock()
	switch {
	case err != nil:
		return nil, fmt.Errorf("lock %s: %w", path, err)
	case !ok:
		return nil, &HeldError{Target: e.target, Holder: readHolder(path)}
	}
	e.writeHolder(path)
	return fl, nil
}

// lockDir takes the lock on a staging dir without waiting; ok is false while a
// live Staging holds it.
func lockDir(dir string) (fl *flock.Flock, ok bool, err error) {
	fl = flock.New(dir, flock.SetFlag(os.O_RDONLY))
	ok, err = fl.TryLock()
	if err != nil {
		return nil, false, fmt.Errorf("lock staging dir %s: %w", dir, err)
	}
	return fl, ok, nil
}

// writeHolder records this process in a lock file it holds. It writes in
// place: replacing the file would replace the inode the lock is on.
func (e *Exporter) writeHolder(path string) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	text := strconv.Itoa(os.Getpid())
	if e.owner != "" {
		text += " " + e.owner
	}
	text += "\n"
	if _, err := f.WriteAt([]byte(text), 0); err == nil {
		_ = f.Truncate(int64(len(text)))
	}
}

// readHolder describes the last holder recorded in a lock file:
// "devloop up (pid 4242)", or "another devloop process (pid 4242)".
func readHolder(path string) string {
	b, _ := os.ReadFile(path)
	pid, owner, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if _, err := strconv.Atoi(pid); err != nil {
		return "another devloop process"
	}
	if owner == "" {
		owner = "another devloop process"
	}
	return fmt.Sprintf("%s (pid %s)", owner, pid)
}

var errClosed = errors.New("exporter is closed")
