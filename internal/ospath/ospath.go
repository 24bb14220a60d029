// Package ospath answers the one question devloop asks of host paths again and again:
// is this path inside that directory? ([Child]; [Display] shows a path relative to a
// directory when it is.) It is lexical (symlinks are not resolved, the file system is
// not read), like Tilt's ospath.Child.
package ospath

import (
	"os"
	"path/filepath"
)

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

// Display shows p for a reader in dir: relative to dir when p is dir or inside it
// (see [Child]), else unchanged.
func Display(dir, p string) string {
	if rel, ok := Child(dir, p); ok {
		return rel
	}
	return p
}

// DisplayCwd is [Display] from the working directory (p unchanged when it is unknown).
func DisplayCwd(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	return Display(wd, p)
}
