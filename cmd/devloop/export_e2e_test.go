//go:build unix

package main

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"os"
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

// metadata maps every entry below dir to its type, permission and special mode bits,
// and a symlink's target or a file's content digest.
func metadata(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		mode := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "symlink -> " + target
		case d.IsDir():
			out[rel] = fmt.Sprintf("dir %v", mode)
		default:
			out[rel] = fmt.Sprintf("file %v %s", mode, fileDigest(t, p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
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
		if wantShare := "dir -rwx---r-x"; shareMode == "0705" && got["share"] != wantShare {
			t.Errorf("build %d: out/share = %q, want %q", i+1, got["share"], wantShare)
		}
	}
	if got := metadata(t, out)["bin/suid"]; !strings.HasPrefix(got, "file urwxr-xr-x") {
		t.Errorf("out/bin/suid = %q, want the setuid bit kept (BuildKit exports it)", got)
	}
}
