// Package ospath answers the one question devloop asks of host paths again and again:
// is this path inside that directory? It is lexical (symlinks are not resolved, the
// file system is not read), like Tilt's ospath.Child.
package ospath

import "path/filepath"

// Child reports whether p is dir itself or a path below it, and returns p relative to
// dir: "." for dir itself, a local path otherwise (see [filepath.IsLocal]). dir and p
// must both be absolute or both relative; a path whose first element is ".." but more
// than "..", such as "..cache", is inside.
func Child(dir, p string) (rel string, ok bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel != "." && !filepath.IsLocal(rel) {
		return "", false
	}
	return rel, true
}
