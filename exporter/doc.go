// Package exporter swaps the output of a BuildKit local export into the
// output directory, file by file and crash-safely.
//
// BuildKit's local exporter is not atomic: it creates each file empty and then
// streams its content, and it never removes files an earlier export produced.
// devloop therefore lets BuildKit export into a private staging directory
// (Exporter.Stage, Stage.Dir) and then calls Stage.Commit, which:
//
//  1. Verifies the staged tree. Only regular files, directories and symlinks
//     are accepted. A symlink must resolve inside the output directory; it is
//     resolved component by component the way the kernel would after the swap,
//     following chains through staged links and links already in the output
//     directory. A destination whose existing parent is a symlink leading
//     outside the output directory, or which lies in devloop's state or
//     staging directories, is refused. Errors name the entry; nothing is
//     changed.
//  2. Hashes every staged file and, when sizes match, the file at its
//     destination. Equal content and mode: Unchanged, not touched (inode and
//     mtime are kept). Destinations are always hashed rather than trusted from
//     the manifest: this reads files of equal size once more, but is never
//     wrong, whether the user edited a file or a power loss truncated it.
//  3. Writes a journal, then renames each changed entry into place. rename(2)
//     replaces the directory entry, so a process running the old binary keeps
//     its inode (no "text file busy") and a reader never sees a partial file.
//     Directories are created (0755), never replaced.
//  4. Removes files the target's previous export produced and this one does
//     not, but only while their content is still what devloop wrote: files
//     devloop never wrote, or that the user changed, are kept. Directories
//     devloop created are removed once empty.
//  5. Writes the target's manifest (StateDir/manifests/<target>.json: path,
//     sha256, size, mode) atomically and removes the staging directory.
//
// Staging directories are created on the output directory's mount, so that the
// renames are atomic: in StateDir/staging/<target>-<random> when StateDir is on
// the same mount, otherwise in OutputDir/.devloop-staging-<target>-<random>,
// a name the watcher and the build context must ignore.
//
// # Crash safety
//
// The journal (journal.json beside the staged tree; written to a temporary
// file, fsync'd and renamed into place) lists the directories to create, the
// renames, the stale-file candidates and the new manifest. Its existence is
// the commit point:
//
//   - A crash before the journal exists leaves the output directory untouched;
//     New removes the staging directory.
//   - After it exists, New rolls the export forward: each rename whose staged
//     entry is still in the staging directory is redone (moved entries are no
//     longer there), stale files are removed under the same content check, the
//     manifest is written, the journal removed, then the staging directory.
//     Roll-forward is idempotent, so a crash during recovery is recovered by
//     the next New. A journal carries the sequence number of the manifest it
//     writes; one not above the current manifest's was applied already (the
//     crash hit the cleanup) and is only removed, never replayed over a
//     later export.
//
// So after a crash and New, the output holds the complete old or the complete
// new set. If a Commit fails after it renamed something, the staging directory
// is kept (Discard leaves it) and rolled forward by the next Commit or New; if
// it fails before the first rename, the directories it created are removed and
// the output is unchanged. Staged file content is not fsync'd: a killed
// process loses nothing, and after a power loss the next Commit, which hashes
// destinations, replaces any file whose content did not survive.
//
// New takes an exclusive lock (StateDir/locks/<target>.lock, released by
// Close), so a second devloop process exporting the same target fails fast
// instead of removing the first one's staging directories.
package exporter
