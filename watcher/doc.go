// Package watcher turns file-system changes in a Docker build context into
// change events for devloop.
//
// One rule set ([Rules]) decides both what is in the build context and what is
// watched. The context is what the .dockerignore sends (BuildKit's semantics)
// minus devloop's own outputs, devloop.yaml, editor temp files, and what
// watch.ignore globs and .git keep from the watcher — a path that starts no
// build is not sent either, or it would invalidate every step that reads the
// whole context on the next build — unless a "!" line of the ignore file names
// a path inside what they keep out. The watch set is that context plus a few
// files that are always watched (the Dockerfile, devloop.yaml). Editor temp
// files and watch.ignore's doublestar globs are not .dockerignore patterns:
// the context walk asks [Rules.NeverInContext] for every path besides applying
// [Rules.ContextExcludes].
// [Watcher] keeps one fsnotify watch per watched directory, never descending
// into pruned trees, and reports the changed paths as [Event]s. [Debounce]
// merges a burst of events into one [Batch]. [Watcher.DirVersion] counts the
// changes of each watched directory, so that a reader of the context (package
// rebuild's context cache) may keep what it read of a directory until it changes.
//
// Paths in events, batches and decisions are slash-separated and relative to
// the context root; an always-watched file outside the root is reported as
// "../…".
package watcher
