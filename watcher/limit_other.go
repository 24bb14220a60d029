//go:build !linux

package watcher

// watchLimitError is nil off Linux: the limits there are inotify's.
func watchLimitError(string, error) error { return nil }

// instanceLimitError is nil off Linux: the limits there are inotify's.
func instanceLimitError(error) error { return nil }
