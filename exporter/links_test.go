//go:build unix

package exporter

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Symlinks are exported as they are, as `docker build --output` writes them
// (issue 16 §3): what is refused is a write that would pass through a symlink.

// zoneinfo is Debian's tzdata shape after `COPY --from=builder /z
// /usr/share/zoneinfo`: an absolute link into the image's /etc, relative links
// between zones, a dangling one.
func zoneinfo() map[string]node {
	return map[string]node{
		"usr/share/zoneinfo/localtime":  link("/etc/localtime"),
		"usr/share/zoneinfo/UTC":        file("TZif2 UTC"),
		"usr/share/zoneinfo/Etc/UTC":    link("../UTC"),
		"usr/share/zoneinfo/Etc/Zulu":   link("UTC"),
		"usr/share/zoneinfo/posixrules": link("America/New_York"), // not exported: dangling
	}
}

// busybox is an Alpine/busybox stage: applets are absolute links to the binary.
func busybox() map[string]node {
	return map[string]node{
		"bin/busybox": file("busybox"),
		"bin/arch":    link("/bin/busybox"),
		"bin/sh":      link("/bin/busybox"),
		"sbin/init":   link("../bin/busybox"),
		"usr/bin/env": link("../../bin/busybox"),
	}
}

func union(trees ...map[string]node) map[string]node {
	all := map[string]node{}
	for _, t := range trees {
		maps.Copy(all, t)
	}
	return all
}

// TestCommitExportsLinksVerbatim: links are created with their target as
// written, wherever it points — also outside the output dir, which is never
// written to — and compared by target in later exports.
func TestCommitExportsLinksVerbatim(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]node{"x": file("outside")})
	tests := map[string]map[string]node{
		"tzdata":  zoneinfo(),
		"busybox": busybox(),
		"relative links": {
			"bin/server":     file("s"),
			"bin/srv":        link("server"),
			"share/server":   link("../bin/server"),
			"up":             link(".."),
			"upup":           link("../../x"),
			"d1/d2/s":        link("../.."),
			"d1/d2/l":        link("s/../../y"),
			"d1/self":        link("."),
			"loop/a":         link("b"),
			"loop/b":         link("a"),
			"dangling":       link("no/such/file"),
			"abs-inside-out": link("/bin/server"),
		},
		"absolute links out of the project": {
			"bin/evil": link(filepath.Join(outside, "x")),
			"bin/dir":  link(outside),
		},
	}
	for name, tree := range tests {
		t.Run(name, func(t *testing.T) {
			out, state := dirs(t)
			e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
			outsideBefore := snapshot(t, outside)

			res := mustExport(t, e, tree)
			if got, want := snapshot(t, out), treeSnapshot(t, tree); !maps.Equal(got, want) {
				t.Errorf("output = %v, want %v", got, want)
			}
			var files []string
			for rel, n := range tree {
				if !n.dir {
					files = append(files, rel)
				}
			}
			slices.Sort(files)
			if !slices.Equal(res.Changed, files) {
				t.Errorf("Changed = %v, want %v", res.Changed, files)
			}
			if got := e.Files(); !slices.Equal(got, files) {
				t.Errorf("Files() = %v, want %v", got, files)
			}

			res = mustExport(t, e, tree)
			if len(res.Changed) != 0 || !slices.Equal(res.Unchanged, files) {
				t.Errorf("same export again: Changed, Unchanged = %v, %v, want none, %v", res.Changed, res.Unchanged, files)
			}
			if got := snapshot(t, outside); !maps.Equal(got, outsideBefore) {
				t.Errorf("outside dir = %v, want %v", got, outsideBefore)
			}
		})
	}
}

// TestCommitRetargetsLinks: a link whose target changed is replaced (the link
// itself, never what it points to), and one no longer exported is removed.
func TestCommitRetargetsLinks(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]node{"x": file("outside")})
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
	mustExport(t, e, map[string]node{"bin/busybox": file("b"), "bin/arch": link(filepath.Join(outside, "x")), "bin/ls": link("/bin/busybox")})
	res := mustExport(t, e, map[string]node{"bin/busybox": file("b"), "bin/arch": link("/bin/busybox")})
	if want := []string{"bin/arch"}; !slices.Equal(res.Changed, want) {
		t.Errorf("Changed = %v, want %v", res.Changed, want)
	}
	if want := []string{"bin/ls"}; !slices.Equal(res.Removed, want) {
		t.Errorf("Removed = %v, want %v", res.Removed, want)
	}
	want := map[string]string{"bin": "dir -rwxr-xr-x", "bin/busybox": `file -rwxr-xr-x "b"`, "bin/arch": "link -> /bin/busybox"}
	if got := snapshot(t, out); !maps.Equal(got, want) {
		t.Errorf("output = %v, want %v", got, want)
	}
	if got, want := snapshot(t, outside), map[string]string{"x": `file -rwxr-xr-x "outside"`}; !maps.Equal(got, want) {
		t.Errorf("outside dir = %v, want %v", got, want)
	}
}

// TestCommitReplacesOwnLinkWithDirectory: an export that has a directory
// where the previous one had a symlink (`etc -> /etc`, then `etc/passwd`)
// replaces devloop's link by the directory — it never writes through it.
func TestCommitReplacesOwnLinkWithDirectory(t *testing.T) {
	for _, target := range []string{"outside dir", "outside file", "inside"} {
		t.Run(target, func(t *testing.T) {
			// The host's file has the very content the export has: it must
			// not pass for the exported file already in place.
			outside := t.TempDir()
			writeTree(t, outside, map[string]node{"passwd": file("image's"), "localtime": file("host's")})
			out, state := dirs(t)
			e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
			first := map[string]node{"etc": link(outside), "real/keep": file("k"), "real/passwd": file("image's")}
			switch target {
			case "outside file":
				first["etc"] = link(filepath.Join(outside, "localtime"))
			case "inside":
				first["etc"] = link("real")
			}
			mustExport(t, e, first)
			second := map[string]node{"etc/passwd": file("image's"), "real/keep": file("k"), "real/passwd": file("image's")}
			res := mustExport(t, e, second)
			if want := []string{"etc/passwd"}; !slices.Equal(res.Changed, want) {
				t.Errorf("Changed = %v, want %v", res.Changed, want)
			}
			if got, want := snapshot(t, out), treeSnapshot(t, second); !maps.Equal(got, want) {
				t.Errorf("output = %v, want %v", got, want)
			}
			want := map[string]string{"passwd": `file -rwxr-xr-x "image's"`, "localtime": `file -rwxr-xr-x "host's"`}
			if got := snapshot(t, outside); !maps.Equal(got, want) {
				t.Errorf("outside dir = %v, want %v", got, want)
			}
			// And back: a directory is never replaced, not even by a link.
			if _, err := export(t, e, first); err == nil || !strings.Contains(err.Error(), "exported etc would replace the directory "+filepath.Join(out, "etc")+"; devloop never replaces a directory: remove it") {
				t.Errorf("export of the link again: error = %v, want one saying to remove the directory", err)
			}
		})
	}
}

// TestCommitNeverWritesThroughLinks: an entry whose path would pass through a
// symlink an export created (in this export or an earlier one), or through
// any symlink leading outside the output dir, is refused with a message
// naming the link; nothing changes, inside or outside.
func TestCommitNeverWritesThroughLinks(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]node{"x": file("outside")})
	tests := []struct {
		name     string
		earlier  map[string]node // exported first
		existing map[string]node // made by the user before the export
		tree     map[string]node
		wantErr  []string
	}{
		{
			name:     "user's link into a link this export creates",
			existing: map[string]node{"bin": link("lib/sub")},
			tree:     map[string]node{"lib": link(outside), "bin/server": file("s")},
			wantErr:  []string{"exported bin would be written through the symlink lib (-> " + outside + ") this export creates"},
		},
		{
			name:     "user's link into an inside link this export creates",
			existing: map[string]node{"bin": link("lib/sub")},
			tree:     map[string]node{"lib": link("real"), "real/sub/x": file("x"), "bin/server": file("s")},
			wantErr:  []string{"exported bin would be written through the symlink lib (-> real) this export creates"},
		},
		{
			name:     "user's link into a link an earlier export created",
			earlier:  map[string]node{"lib": link(outside)},
			existing: map[string]node{"bin": link("lib")},
			tree:     map[string]node{"lib": link(outside), "bin/server": file("s")},
			wantErr:  []string{"directory bin", "symlink lib (-> " + outside + ") an earlier export created"},
		},
		{
			name:     "user's link into an inside link an earlier export created",
			earlier:  map[string]node{"lib": link("real"), "real/a": file("a")},
			existing: map[string]node{"bin": link("lib")},
			tree:     map[string]node{"lib": link("real"), "real/a": file("a"), "bin/server": file("s")},
			wantErr:  []string{"directory bin", "symlink lib (-> real) an earlier export created"},
		},
		{
			name:     "user's link to an absolute path outside, through a chain",
			existing: map[string]node{"a": link("b"), "b": link(filepath.Join(outside, "."))},
			tree:     map[string]node{"a/x": file("s")},
			wantErr:  []string{"directory a:", "leads outside"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, state := dirs(t)
			e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
			if tt.earlier != nil {
				mustExport(t, e, tt.earlier)
			}
			writeTree(t, out, tt.existing)
			before, outsideBefore := snapshot(t, out), snapshot(t, outside)
			_, err := export(t, e, tt.tree)
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Commit() error = %v, want one containing %q", err, want)
				}
			}
			checkRefused(t, out, state, outside, before, outsideBefore)
		})
	}
}

// TestRecoveryWithLinks crashes exports with absolute and relative links, and
// one replacing a link by a directory, after each rename; New completes them
// and never writes outside.
func TestRecoveryWithLinks(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]node{"passwd": file("host's")})
	old := union(busybox(), map[string]node{"etc": link(outside), "bin/old": link("/bin/busybox")})
	next := union(zoneinfo(), map[string]node{
		"bin/busybox": file("busybox v2"), "bin/arch": link("/bin/busybox"), "bin/ls": link("busybox"),
		"etc/passwd": file("image's"), "etc/localtime": link("/usr/share/zoneinfo/UTC"),
	})
	// Renames of next: bin/busybox, bin/ls, etc/localtime, etc/passwd and the five zoneinfo entries.
	const renames = 9
	for crash := 1; crash <= renames; crash++ {
		t.Run(fmt.Sprintf("after rename %d", crash), func(t *testing.T) {
			out, state := dirs(t)
			e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", afterRename: crashAfter(len(old) + crash)})
			mustExport(t, e, old)
			if _, err := export(t, e, next); !errors.Is(err, errCrash) {
				t.Fatalf("Commit() error = %v, want the simulated crash", err)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			e = newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app"})
			if got, want := snapshot(t, out), treeSnapshot(t, next); !maps.Equal(got, want) {
				t.Errorf("output after recovery = %v, want %v", got, want)
			}
			if got, want := snapshot(t, outside), map[string]string{"passwd": `file -rwxr-xr-x "host's"`}; !maps.Equal(got, want) {
				t.Errorf("outside dir = %v, want %v", got, want)
			}
			if left := stagingDirs(t, out, state); len(left) != 0 {
				t.Errorf("staging dirs after recovery = %v, want none", left)
			}
			if res := mustExport(t, e, next); len(res.Changed)+len(res.Removed) != 0 {
				t.Errorf("re-export after recovery: Changed, Removed = %v, %v, want none", res.Changed, res.Removed)
			}
		})
	}
}

// TestRecoveryDoesNotFollowNewLink: after a crash, before recovery, the user
// (or anything) puts a symlink leading outside where the journal creates a
// directory; roll-forward refuses to write through it.
func TestRecoveryDoesNotFollowNewLink(t *testing.T) {
	outside := t.TempDir()
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "app", afterRename: crashAfter(1)})
	if _, err := export(t, e, map[string]node{"a/x": file("x"), "lib/y": file("y")}); !errors.Is(err, errCrash) {
		t.Fatalf("Commit() error = %v, want the simulated crash", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(out, "lib")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(out, "lib")); err != nil {
		t.Fatal(err)
	}
	_, err := New(Options{OutputDir: out, StateDir: state, Target: "app"})
	if want := "create directory " + filepath.Join(out, "lib") + ": a symlink is there now"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("New() error = %v, want one containing %q", err, want)
	}
	if got := snapshot(t, outside); len(got) != 0 {
		t.Errorf("outside dir = %v, want it empty", got)
	}
}
