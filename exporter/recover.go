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

// recover brings the output and this Exporter up to date with what other
// exports of the target did; the caller holds the swap lock. It reloads the
// manifest (another process may have committed since), rolls staging dirs
// with a journal forward in journal order (a swap that stopped midway, in any
// process), and removes staging dirs without one that no open Staging holds
// (exports of a process that was killed).
func (e *Exporter) recover() error {
	m, err := e.readManifest()
	if err != nil {
		return err
	}
	e.man = m
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
				if err := e.removeDead(base); err != nil {
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
			return fmt.Errorf("complete interrupted export %s of target %q: %w (remove it to abandon that export)", l.base, e.target, err)
		}
		e.log.Info("completed interrupted export", zap.String("dir", l.base), zap.Int("renames", len(l.j.Renames)))
	}
	return nil
}

// removeDead removes a staging dir without a journal unless an open Staging (of
// this or another process) holds it.
func (e *Exporter) removeDead(base string) error {
	fl, ok, err := lockDir(base)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // removed meanwhile by its Staging's Discard
	case err != nil:
		return err
	case !ok:
		return nil // a live export
	}
	defer func() { _ = fl.Unlock() }()
	e.log.Info("removing staging dir of an unfinished export", zap.String("dir", base))
	return removeTree(base)
}

// finish rolls j forward unless the manifest shows it applied or superseded,
// then removes its staging dir.
func (e *Exporter) finish(base string, j *journal) error {
	if j.Manifest.Seq > e.man.Seq {
		if _, _, err := e.apply(base, j, rollForward); err != nil {
			return err
		}
	}
	e.cleanupStaging(base)
	return nil
}

// cleanupStaging removes a finished staging dir: the journal first, so that a
// crash during the removal leaves a dir that New simply deletes. Failures
// only leave garbage behind (the manifest's Seq keeps an old journal from
// being replayed), so they are logged.
func (e *Exporter) cleanupStaging(base string) {
	if err := os.Remove(filepath.Join(base, journalName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		e.log.Warn("cannot remove journal of a finished export", zap.String("dir", base), zap.Error(err))
		return
	}
	if err := removeTree(base); err != nil {
		e.log.Warn("cannot remove staging dir of a finished export", zap.Error(err))
	}
}
