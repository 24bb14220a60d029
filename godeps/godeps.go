// Package godeps asks the host's go command which directories a Go main package is
// compiled from, so devloop can skip rebuilding targets that a change cannot affect.
package godeps

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Dirs runs `go list -deps` for pkgs (directories relative to dir, like "cmd/server")
// in dir and returns the directories of every non-standard package they are built
// from, relative to dir; packages outside dir (the module cache) are left out.
func Dirs(ctx context.Context, dir string, pkgs []string) ([]string, error) {
	args := []string{"list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}"}
	for _, p := range pkgs {
		args = append(args, "./"+filepath.ToSlash(filepath.Clean(p)))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list -deps %s in %s: %w: %s", strings.Join(pkgs, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		root = dir
	}
	set := map[string]bool{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		for _, base := range []string{dir, root} {
			rel, err := filepath.Rel(base, line)
			if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				set[filepath.ToSlash(rel)] = true
				break
			}
		}
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out, nil
}
