// Package watcher turns file-system changes in a Docker build context into
// change events for devloop.
//
// One rule set ([Rules]) decides both what is in the build context (the
// .dockerignore, with BuildKit's semantics, minus devloop's own outputs) and
// what is watched (the context minus watch.ignore globs, .git and editor temp
// files, plus a few files that are always watched such as the Dockerfile).
// [Watcher] keeps one fsnotify watch per watched directory, never descending
// into pruned trees, and reports the changed paths as [Event]s. [Debounce]
// merges a burst of events into one [Batch].
//
// Paths in events, batches and decisions are slash-separated and relative to
// the context root; an always-watched file outside the root is reported as
// "../…".
package watcher
