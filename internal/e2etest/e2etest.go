// Package e2etest holds what the end-to-end tests of cmd/devloop and the fault tests
// of test/faults share: building the devloop binary, copying the example project,
// writing files the way editors do, running commands, asking the example server,
// reading a running `devloop up` line by line (Up), describing a directory tree
// (Snapshot) and waiting for a condition on real processes (Poll, Eventually; the
// unit tests of supervisor, feedback and bench that wait on real processes use them
// too), and checking an event stream against docs/events.md (ValidateEvents, also for
// the unit tests of package report). It is test support only; nothing outside
// _test.go files imports it.
//
// The end-to-end tests are behind the build tag e2e (`make test` sets it; `go test
// ./...` runs the unit tests only) and need a real BuildKit daemon: they fail, never
// skip, without one (RequireBuildKit).
package e2etest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// RepoRoot is the root of the devloop module.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BuildDevloop builds cmd/devloop into a new temp dir and returns the binary's path
// and a function that removes it. For TestMain: it reports on stderr, not to a test.
func BuildDevloop() (bin string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "devloop-e2e-bin-")
	if err != nil {
		return "", nil, err
	}
	bin = filepath.Join(dir, "devloop")
	build := exec.Command("go", "build", "-o", bin, "github.com/devloop/devloop/cmd/devloop")
	build.Dir = RepoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("build devloop for the end-to-end tests: %w", err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}

// RequireBuildKit fails (never skips) when no daemon is configured: `make test` starts
// the testbed (hack/testbed/up.sh) and sets BUILDKIT_HOST.
func RequireBuildKit(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("BUILDKIT_HOST")
	if addr == "" {
		t.Fatal("BUILDKIT_HOST is not set: end-to-end tests need a real buildkitd; run `make test`, or `eval \"$(bash hack/testbed/up.sh --env)\"` first")
	}
	return addr
}

// ExampleProject copies examples/greeter into a new temp dir and writes devloop.yaml.
func ExampleProject(t testing.TB, yaml string) string {
	t.Helper()
	dir := t.TempDir()
	CopyTree(t, filepath.Join(RepoRoot(), "examples", "greeter"), dir)
	WriteFile(t, filepath.Join(dir, "devloop.yaml"), yaml)
	return dir
}

// CopyTree copies the regular files below src into dst, leaving out devloop's outputs
// and state (bin, .devloop).
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if rel == "bin" || rel == ".devloop" {
				return fs.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

// WriteFile writes content the way editors do: a temp file (JetBrains' name) renamed
// over the target.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := path + "___jb_tmp___"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// SetGreeting rewrites the example's greeting text (what GET / answers).
func SetGreeting(t testing.TB, dir, text string) {
	t.Helper()
	WriteFile(t, filepath.Join(dir, "internal", "greeting", "greeting.go"), fmt.Sprintf(`// Package greeting builds the text the server answers with.
package greeting

import "fmt"

// Text is the greeting the server sends.
const Text = %q

// For returns the greeting for a caller.
func For(name string) string {
	if name == "" {
		return Text
	}
	return fmt.Sprintf("%%s, %%s", Text, name)
}
`, text))
}

// Result is a finished command.
type Result struct {
	Code           int
	Stdout, Stderr string
	Elapsed        time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d after %s\n--- stdout\n%s--- stderr\n%s", r.Code, r.Elapsed.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// Run runs name in dir with extra environment variables and waits for it (at most
// ten minutes). A command that cannot be started fails the test; an exit code does not.
func Run(t testing.TB, dir string, env []string, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", name, args, err)
	}
	return r
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Get asks url once (2 s timeout) and returns the trimmed body.
func Get(url string) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

// WaitServes polls url until it answers want, failing the test after timeout.
func WaitServes(t testing.TB, url, want string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, 50*time.Millisecond, func() (bool, string) {
		got, err := Get(url)
		return err == nil && got == want, fmt.Sprintf("GET %s = %q (err %v), want %q", url, got, err, want)
	})
}
