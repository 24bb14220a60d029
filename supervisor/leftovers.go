package supervisor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/moby/sys/atomicwriter"
	"go.uber.org/zap"
)

// RunIDEnv is the environment variable every process a Supervisor starts carries,
// inherited by its children: the id of that supervisor's run. It is how a later
// supervisor finds what survived a crash of this one (see Options.RunFile).
const RunIDEnv = "DEVLOOP_RUN_ID"

// leftoverWait bounds the wait for killed leftovers to disappear.
const leftoverWait = 2 * time.Second

func newRunID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// killLeftovers reads the run id a previous supervisor recorded in RunFile, kills
// every process still carrying it and records this supervisor's id. The caller
// must make sure no other supervisor uses RunFile at the same time (devloop holds
// the target's lock). Where processes cannot be found by their environment
// (canFindRuns is false) it does nothing.
func (s *Supervisor) killLeftovers() {
	path := s.opts.RunFile
	if path == "" || !canFindRuns {
		return
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		s.log.Warn("cannot read the previous run's id; its processes, if any, are left alone", zap.String("path", path), zap.Error(err))
	default:
		if prev := strings.TrimSpace(string(data)); prev != "" && prev != s.runID {
			killed, err := s.killRun(prev)
			for _, pid := range killed {
				s.emit(Event{Kind: EventLeftover, PID: pid})
			}
			if err != nil {
				// Keep the earlier id: a later run may still find its processes.
				s.log.Warn("cannot kill the processes left by an earlier run", zap.String("run", prev), zap.Error(err))
				return
			}
		}
	}
	if err := writeFileAtomic(path, []byte(s.runID+"\n")); err != nil {
		s.log.Warn("cannot record the run id; a crash of devloop would leave its processes behind", zap.String("path", path), zap.Error(err))
	}
}

// killRun kills the processes carrying run id, again and again until none is left
// running (one may fork while it is being killed; one that exits still holds its
// files until it is a zombie) or leftoverWait has passed. It returns the pids it
// killed; err says some could not be listed or are still there.
func (s *Supervisor) killRun(id string) (killed []int, err error) {
	entry := RunIDEnv + "=" + id
	deadline := time.Now().Add(leftoverWait)
	var found []procID // in the order found: parents (lower pids) mostly first
	for {
		pids, err := processesWithEnv(entry)
		if err != nil {
			return killed, err
		}
		for _, pid := range pids {
			if p, _, err := procOf(pid); err == nil && !slices.Contains(found, p) {
				found = append(found, p)
				killed = append(killed, pid)
			}
		}
		var left []int
		for _, p := range found {
			if !running(p) {
				continue
			}
			left = append(left, p.pid)
			if err := killPID(p.pid); err != nil {
				s.log.Warn("cannot kill a process of a run", zap.String("run", id), zap.Int("pid", p.pid), zap.Error(err))
			}
		}
		if len(left) == 0 {
			return killed, nil
		}
		if time.Now().After(deadline) {
			return killed, fmt.Errorf("processes %v of run %s still alive after %s", left, id, leftoverWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// forgetRun ends the run after a clean stop: it kills what still carries the run's
// id although its process group is gone (a child that called setsid, a daemonized
// helper) and removes RunFile, since nothing of this run is left.
func (s *Supervisor) forgetRun() {
	if s.opts.RunFile == "" || !canFindRuns {
		return
	}
	pids, err := s.killRun(s.runID) // normally none: every stop ends the strays
	if len(pids) > 0 {
		s.log.Info("killed processes that had left the process group", zap.Ints("pids", pids))
	}
	if err != nil {
		s.log.Warn("processes of this run may be left; the next start kills them", zap.Error(err))
		return
	}
	if err := os.Remove(s.opts.RunFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Debug("cannot remove the run file", zap.String("path", s.opts.RunFile), zap.Error(err))
	}
}

// writeFileAtomic replaces the file at path with data, creating its directory: a
// synced temporary file renamed over it (moby/sys/atomicwriter), so a crash leaves the
// old id or the new one, never a part.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("record run id in %s: %w", path, err)
	}
	if err := atomicwriter.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("record run id in %s: %w", path, err)
	}
	return nil
}
