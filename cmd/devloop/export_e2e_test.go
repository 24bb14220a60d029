//go:build e2e && unix

package main

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
	"github.com/devloop/devloop/rebuild"
)

// modesDockerfile exports directories and files with every kind of mode: a 0750
// directory (the example), read-only, sticky and setgid directories, an empty
// one, setuid/setgid/sticky files, symlinks and a hard link.
const modesDockerfile = `FROM alpine AS files
ARG SHARE_MODE=0750
RUN mkdir -p /o/share/empty /o/bin /o/ro /o/tmp /o/sgid \
 && echo doc > /o/share/doc && chmod 0640 /o/share/doc && chmod $SHARE_MODE /o/share \
 && chmod 0700 /o/share/empty \
 && echo s > /o/bin/suid && chmod 4755 /o/bin/suid \
 && echo g > /o/bin/sgid && chmod 2755 /o/bin/sgid \
 && echo k > /o/bin/sticky && chmod 1755 /o/bin/sticky \
 && echo p > /o/bin/private && chmod 0700 /o/bin/private \
 && ln -s private /o/bin/link && ln -s ../share/doc /o/bin/doclink && ln /o/bin/suid /o/bin/hardlink \
 && echo r > /o/ro/file && chmod 0444 /o/ro/file && chmod 0555 /o/ro \
 && chmod 1777 /o/tmp && chmod 2750 /o/sgid

FROM scratch AS out
COPY --from=files /o/ /
`

// metadata describes every entry below dir (e2etest.Snapshot with directories): its
// type and permission and special mode bits, and a symlink's target or a file's
// content digest. dir itself is left out: its mode is the project's, not exported.
func metadata(t *testing.T, dir string) e2etest.Snapshot {
	t.Helper()
	s := e2etest.TakeSnapshot(t, dir, e2etest.Dirs)
	delete(s, ".")
	return s
}

// buildkitExport solves stage of the project in dir with BuildKit's local exporter
// straight into a new directory, without devloop's exporter: the reference.
func buildkitExport(t *testing.T, dir, stage string, args map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := rebuild.Connect(ctx, rebuild.Options{Address: e2etest.RequireBuildKit(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dest := t.TempDir()
	_, err = c.Solve(ctx, rebuild.Request{
		Target: stage, Stage: stage, Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
		BuildArgs: args, Dest: dest,
	}, nil)
	if err != nil {
		t.Fatalf("solve %s with BuildKit's local exporter: %v", stage, err)
	}
	return dest
}

// TestExportKeepsMetadata: what devloop swaps into the output directory has the modes,
// symlinks and empty directories BuildKit's local exporter writes (issue: a `chmod
// 0750 /o/share` came out 0755), also when a later build changes a directory's mode.
func TestExportKeepsMetadata(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := tinyProject(t, modesDockerfile, "")
	out := filepath.Join(dir, "out")
	for i, shareMode := range []string{"0750", "0705"} {
		e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"),
			fmt.Sprintf("build_args: {SHARE_MODE: %q}\ntargets:\n  out:\n    stage: out\n    output: out\n", shareMode))
		if r := runDevloop(t, dir, "build", "--progress", "quiet"); r.Code != 0 {
			t.Fatalf("build %d: %v", i+1, r)
		}
		want := metadata(t, buildkitExport(t, dir, "out", map[string]string{"SHARE_MODE": shareMode}))
		got := metadata(t, out)
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if got[k] != want[k] {
				t.Errorf("build %d: out/%s = %q, BuildKit's local exporter wrote %q", i+1, k, got[k], want[k])
			}
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("build %d: out/%s = %q, which BuildKit's local exporter did not write", i+1, k, got[k])
			}
		}
		if wantShare := "drwx---r-x"; shareMode == "0705" && got["share"] != wantShare {
			t.Errorf("build %d: out/share = %q, want %q", i+1, got["share"], wantShare)
		}
	}
	if got := metadata(t, out)["bin/suid"]; !strings.HasPrefix(got, "urwxr-xr-x ") {
		t.Errorf("out/bin/suid = %q, want the setuid bit kept (BuildKit exports it)", got)
	}
}
