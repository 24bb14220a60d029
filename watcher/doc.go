// Package watcher turns file-system changes in a Docker build context into
// change events for devloop.
//
// One rule set ([Rules]) decides both what is in the build context (the
// .dockerignore, with BuildKit's semantics, minus devloop's own outputs,
// devloop.yaml and editor temp files) and what is watched (the context minus
// watch.ignore globs and .git, plus a few files that are always watched such
// as the Dockerfile and devloop.yaml). Editor temp files are recognised by
// name, which .dockerignore patterns cannot express exactly: the context walk
// asks [Rules.NeverInContext] for every path besides applying
// [Rules.ContextExcludes].
// [Watcher] keeps one fsnotify watch per watched directory, never descending
// into pruned trees, and reports the changed paths as [Event]s. [Debounce]
// merges a burst of events into one [Batch].
//
// Paths in events, batches and decisions are slash-separated and relative to
// the context root; an always-watched file outside the root is reported as
// "../…".
package watcher
