// Package exporter swaps the output of a BuildKit local export into the
// output directory, file by file and crash-safely.
//
// BuildKit's local exporter is not atomic: it creates each file empty and then
// streams its content, and it never removes files an earlier export produced.
// devloop therefore lets BuildKit export into a private staging directory
// (Exporter.Begin, Staging.Dir) and then calls Staging.Commit, which:
//
//  1. Verifies the staged tree. Only regular files, directories and symlinks
//     are accepted. Symlinks are exported as they are, whatever their target
//     (Debian's zoneinfo/localtime -> /etc/localtime, busybox's
//     bin/arch -> /bin/busybox), as `docker build --output` writes them:
//     creating a link writes nothing through it. What is refused is a write
//     that would pass through a symlink an export created (this one or an
//     earlier one: its target is the image's, an absolute one names the
//     container's root) or through any symlink leading outside the output
//     directory, and a destination in devloop's state or staging
//     directories. The user's own symlinked directories that stay inside the
//     output directory (bin -> build/bin) are followed. A directory where
//     the previous export had a symlink replaces that link (if it is still
//     the one devloop made); a directory is never replaced. Errors name the
//     entry and the link; nothing is changed.
//  2. Hashes every staged file and, when sizes match, the file at its
//     destination. Equal content and mode: Unchanged, not touched (inode and
//     mtime are kept). Destinations are always hashed rather than trusted from
//     the manifest: this reads files of equal size once more, but is never
//     wrong, whether the user edited a file or a power loss truncated it.
//  3. Writes a journal, then renames each changed entry into place. rename(2)
//     replaces the directory entry, so a process running the old binary keeps
//     its inode (no "text file busy") and a reader never sees a partial file.
//     Directories are created, never replaced.
//  4. Removes files the target's previous export produced and this one does
//     not, but only while their content is still what devloop wrote: files
//     devloop never wrote, or that the user changed, are kept. Directories
//     devloop created are removed once empty. A target built for several
//     platforms is no special case: BuildKit's local exporter writes one
//     subdirectory per platform (linux_amd64/, darwin_arm64/), whose files are
//     swapped and tracked like any other, and a platform no longer built leaves
//     only what the user put in its directory.
//  5. Gives the directories devloop created (now or in an earlier export)
//     their exported modes, writes the target's manifest
//     (StateDir/manifests/<target>.json: path, sha256, size, mode) atomically
//     and removes the staging directory.
//
// # Metadata
//
// The output holds what BuildKit's local exporter writes (it exports into the
// staging directory; the renames keep its files' inodes): file modes with the
// setuid, setgid and sticky bits, modification times of changed files, owner
// (the current user), symlinks as they are (any target), empty directories.
// Directories devloop creates get their exported mode, also read-only or
// sticky ones, and follow it in later exports while their mode is the one
// devloop gave them (the manifest records it). A directory that already
// existed and was not created by devloop (the project root, a bin/ the user
// made), or whose mode the user changed, is the user's: devloop never changes
// its mode, where BuildKit's exporter would, and refuses to write into it if
// it is read-only. Directory modification times are not copied: a directory's mtime is when devloop last changed its
// entries. Unchanged files keep their inode and mtime.
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
// # Several processes
//
// Several processes may export the same target (devloop up running while an
// editor task runs devloop build). Their solves and staging run side by side;
// each swap, each staging dir creation and New's recovery hold the target's
// swap lock (StateDir/locks/<target>.lock), a few milliseconds, so swaps take
// turns and each is planned against the manifest the previous one wrote.
// Options.Waiting hears when one has to wait. A staging dir is locked while
// its Staging is open, so recovery removes only those of killed processes. An
// entry another process put in place since this Exporter last looked counts
// as Changed although nothing is renamed: the processes this one started run
// the old content. Options.Exclusive (devloop up) additionally holds the
// target for the Exporter's lifetime (StateDir/locks/<target>.exclusive.lock):
// a second exclusive Exporter fails fast with a [*HeldError].
//
// # Output registry
//
// [Outputs] is the set of files devloop wrote, which the build context and the
// watch set must leave out (otherwise every export would bust the cache and look
// like an edit). An Exporter given it in Options.Outputs adds what the target's
// last export produced when created, and Commit adds every file and symlink of the
// staged tree from its own listing (step 1), before the first rename: a watcher
// that consults the registry never takes the swap for an edit. The registry only
// grows: a file that stops being exported stays excluded for the session.
package exporter
