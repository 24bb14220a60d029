//go:build e2e && unix

package main

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devloop/devloop/internal/e2etest"
)

// symlinksDockerfile exports the shapes of issue 16 §3: Debian's tzdata (an absolute
// link into the image's /etc, copied with `COPY --from=builder /z
// /usr/share/zoneinfo`) and a busybox /bin whose applets are absolute links to
// /bin/busybox (the testbed's alpine is such an image). With LOCALTIME=dir the
// zoneinfo's localtime is a directory instead of a link.
const symlinksDockerfile = `FROM alpine AS tz
ARG LOCALTIME=link
RUN mkdir -p /z/Etc && echo TZif2 > /z/UTC && ln -s ../UTC /z/Etc/UTC \
 && if [ "$LOCALTIME" = link ]; then ln -s /etc/localtime /z/localtime; \
    else mkdir /z/localtime && echo zone > /z/localtime/zone; fi

FROM scratch AS out
COPY --from=tz /z /usr/share/zoneinfo
COPY --from=tz /bin /bin
`

// TestExportSymlinks: a stage with absolute symlinks builds and devloop exports them
// as BuildKit's local exporter writes them (issue 16 §3: the export failed with
// "resolves outside the output dir"), never writing through one: when a later build
// has a directory where the link was, the directory replaces the link and the host's
// /etc is untouched.
func TestExportSymlinks(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := tinyProject(t, symlinksDockerfile, "")
	out := filepath.Join(dir, "out")
	r := runDevloop(t, dir, "build", "--progress", "quiet")
	if r.Code != 0 {
		t.Fatalf("build: %v", r)
	}
	want := metadata(t, buildkitExport(t, dir, "out", nil))
	got := metadata(t, out)
	if !maps.Equal(got, want) {
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if got[k] != want[k] {
				t.Errorf("out/%s = %q, BuildKit's local exporter wrote %q", k, got[k], want[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("out/%s = %q, which BuildKit's local exporter did not write", k, got[k])
			}
		}
	}
	for link, target := range map[string]string{
		"usr/share/zoneinfo/localtime": "/etc/localtime",
		"usr/share/zoneinfo/Etc/UTC":   "../UTC",
		"bin/arch":                     "/bin/busybox",
		"bin/sh":                       "/bin/busybox",
	} {
		if got, err := os.Readlink(filepath.Join(out, link)); err != nil || got != target {
			t.Errorf("out/%s -> %q (%v), want a link to %q", link, got, err, target)
		}
	}
	// The exported busybox runs.
	if b, err := exec.Command(filepath.Join(out, "bin", "busybox"), "echo", "exported").CombinedOutput(); err != nil || string(b) != "exported\n" {
		t.Errorf("out/bin/busybox echo exported = %q, %v", b, err)
	}

	// The same build again changes nothing.
	r = runDevloop(t, dir, "build", "--progress", "quiet")
	if r.Code != 0 || strings.Contains(r.Stdout, "updated") {
		t.Errorf("second build: want exit 0 and nothing updated:\n%v", r)
	}

	// A directory where the link was: the link is replaced, nothing is written
	// through it (it points at the host's /etc/localtime).
	hostBefore, hostErr := os.Lstat("/etc/localtime")
	e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), "build_args: {LOCALTIME: dir}\ntargets:\n  out:\n    stage: out\n    output: out\n")
	r = runDevloop(t, dir, "build", "--progress", "quiet")
	if r.Code != 0 {
		t.Fatalf("build with localtime a directory: %v", r)
	}
	if b, err := os.ReadFile(filepath.Join(out, "usr/share/zoneinfo/localtime/zone")); err != nil || string(b) != "zone\n" {
		t.Errorf("out/usr/share/zoneinfo/localtime/zone = %q, %v; want the exported file", b, err)
	}
	if fi, err := os.Lstat(filepath.Join(out, "usr/share/zoneinfo/localtime")); err != nil || !fi.IsDir() {
		t.Errorf("out/usr/share/zoneinfo/localtime: %v, %v; want a directory", fi, err)
	}
	hostAfter, err := os.Lstat("/etc/localtime")
	if (hostErr == nil) != (err == nil) || hostErr == nil && (hostAfter.Mode() != hostBefore.Mode() || !hostAfter.ModTime().Equal(hostBefore.ModTime())) {
		t.Errorf("the host's /etc/localtime changed: before %v %v, after %v %v", hostBefore, hostErr, hostAfter, err)
	}
	if _, err := os.Stat("/etc/localtime/zone"); err == nil {
		t.Errorf("/etc/localtime/zone exists on the host")
	}
	t.Logf("%d entries exported", len(got))
}
