package exporter

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"go.uber.org/zap"
)

// recover handles the staging dirs of this target a previous run left: those
// with a journal are rolled forward in journal order, the others removed.
func (e *Exporter) recover() error {
	type leftover struct {
		base string
		j    *journal
	}
	var journaled []leftover
	for _, loc := range []struct{ dir, prefix string }{
		{e.stagingRoot(), e.target + "-"},
		{e.out, outsideStagingPrefix + e.target + "-"},
	} {
		ents, err := os.ReadDir(loc.dir)
		if err != nil {
			return fmt.Errorf("list staging dirs in %s: %w", loc.dir, err)
		}
		for _, d := range ents {
			if !d.IsDir() || !isStagingName(d.Name(), loc.prefix) {
				continue
			}
			base := filepath.Join(loc.dir, d.Name())
			j, err := readJournal(base)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				e.log.Info("removing staging dir of an unfinished export", zap.String("dir", base))
				if err := removeTree(base); err != nil {
					return err
				}
			case err != nil:
				return fmt.Errorf("recover target %q: %w (remove %s to abandon that export)", e.target, err, base)
			default:
				journaled = append(journaled, leftover{base, j})
			}
		}
	}
	slices.SortFunc(journaled, func(a, b leftover) int { return cmp.Compare(a.j.Manifest.Seq, b.j.Manifest.Seq) })
	for _, l := range journaled {
		if l.j.Target != e.target || l.j.OutputDir != e.out {
			e.log.Warn("abandoning interrupted export into another output dir",
				zap.String("dir", l.base), zap.String("output_dir", l.j.OutputDir))
			if err := removeTree(l.base); err != nil {
				return err
			}
			continue
		}
		if err := e.finish(l.base, l.j); err != nil {
			return fmt.Errorf("recover interrupted export %s of target %q: %w (remove it to abandon that export)", l.base, e.target, err)
		}
		e.log.Info("completed interrupted export", zap.String("dir", l.base), zap.Int("renames", len(l.j.Renames)))
	}
	return nil
}

// finishPending completes swaps that failed midway in this process, before a
// newer one is planned on top of them.
func (e *Exporter) finishPending() error {
	for len(e.pending) > 0 {
		base := e.pending[0]
		j, err := readJournal(base)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("complete interrupted export of target %q: %w", e.target, err)
		default:
			if err := e.finish(base, j); err != nil {
				return fmt.Errorf("complete interrupted export %s of target %q: %w", base, e.target, err)
			}
		}
		e.pending = e.pending[1:]
	}
	return nil
}

// finish rolls j forward unless the manifest shows it applied or superseded,
// then removes its staging dir.
func (e *Exporter) finish(base string, j *journal) error {
	if j.Manifest.Seq > e.man.Seq {
		if _, _, err := e.apply(base, j, false); err != nil {
			return err
		}
	}
	e.cleanupStage(base)
	return nil
}

// cleanupStage removes a finished staging dir: the journal first, so that a
// crash during the removal leaves a dir that New simply deletes. Failures
// only leave garbage behind (the manifest's Seq keeps an old journal from
// being replayed), so they are logged.
func (e *Exporter) cleanupStage(base string) {
	if err := os.Remove(filepath.Join(base, journalName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		e.log.Warn("cannot remove journal of a finished export", zap.String("dir", base), zap.Error(err))
		return
	}
	if err := removeTree(base); err != nil {
		e.log.Warn("cannot remove staging dir of a finished export", zap.Error(err))
	}
}
