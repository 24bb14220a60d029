package localbuilder

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestBuilderArgs: how devloop would start buildkitd, or why it cannot.
func TestBuilderArgs(t *testing.T) {
	st := At("/home/u/.cache/devloop/buildkitd", nil)
	all := []string{"buildkitd", "runc", "rootlesskit", "newuidmap", "newgidmap"}
	without := func(names ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(names, s) })
	}
	daemon := []string{"/bin/buildkitd", "--addr", "unix:///home/u/.cache/devloop/buildkitd/buildkitd.sock",
		"--root", "/home/u/.cache/devloop/buildkitd/root",
		"--otel-socket-path", "/home/u/.cache/devloop/buildkitd/otel-grpc.sock",
		"--oci-worker=true", "--containerd-worker=false"}
	tests := []struct {
		name   string
		st     Daemon
		euid   int
		onPath []string
		want   []string
		errHas string
	}{
		{name: "root", st: st, euid: 0, onPath: without("rootlesskit", "newuidmap", "newgidmap"), want: daemon},
		{name: "rootless", st: st, euid: 1000, onPath: all, want: append([]string{"/bin/rootlesskit"}, daemon...)},
		{name: "no buildkitd", st: st, euid: 0, onPath: without("buildkitd"), errHas: "buildkitd is not on PATH"},
		{name: "no runc", st: st, euid: 0, onPath: without("runc"), errHas: "runc is not on PATH"},
		{name: "rootless without rootlesskit", st: st, euid: 1000, onPath: without("rootlesskit"), errHas: "needs rootlesskit on PATH"},
		{name: "rootless without uidmap", st: st, euid: 1000, onPath: without("newuidmap", "newgidmap"), errHas: "newuidmap, newgidmap"},
		{name: "socket path too long", st: At("/"+strings.Repeat("d", 100), nil), euid: 0, onPath: all, errHas: "XDG_CACHE_HOME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lookPath := func(name string) (string, error) {
				if slices.Contains(tt.onPath, name) {
					return "/bin/" + name, nil
				}
				return "", exec.ErrNotFound
			}
			got, err := tt.st.Command(tt.euid, lookPath)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("Command() = %v, %v, want an error containing %q", got, err, tt.errHas)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Command() = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

// TestDefaultAddresses: the sockets probed before starting a daemon.
func TestDefaultAddresses(t *testing.T) {
	tests := []struct {
		name, override, runtimeDir string
		euid                       int
		want                       []string
	}{
		{name: "root", euid: 0, runtimeDir: "/run/user/0", want: []string{RootfulAddress}},
		{name: "user", euid: 1000, runtimeDir: "/run/user/1000", want: []string{RootfulAddress, "unix:///run/user/1000/buildkit/buildkitd.sock"}},
		{name: "user without XDG_RUNTIME_DIR", euid: 1000, want: []string{RootfulAddress}},
		{name: "test hook", override: "unix:///tmp/x.sock", euid: 1000, runtimeDir: "/run/user/1000", want: []string{"unix:///tmp/x.sock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(DefaultAddrEnv, tt.override)
			t.Setenv("XDG_RUNTIME_DIR", tt.runtimeDir)
			if got := DefaultAddresses(tt.euid); !slices.Equal(got, tt.want) {
				t.Errorf("DefaultAddresses(%d) = %q, want %q", tt.euid, got, tt.want)
			}
		})
	}
}

// TestWaitUntilAnswers: waiting for a freshly started daemon ends when it exits, when
// the timeout passes, or when the context ends (synctest's fake clock).
func TestWaitUntilAnswers(t *testing.T) {
	addr := "unix://" + filepath.Join(t.TempDir(), "never.sock")
	tests := []struct {
		name      string
		exitAfter int // calls of exited before it reports an exit; 0: never
		cancelAt  time.Duration
		errHas    string
		elapsed   time.Duration
	}{
		{name: "daemon exits", exitAfter: 3, errHas: "exited", elapsed: 200 * time.Millisecond},
		{name: "timeout", errHas: "did not answer at " + addr + " within 1m0s", elapsed: 60*time.Second + 100*time.Millisecond},
		{name: "cancelled", cancelAt: 5 * time.Second, errHas: "interrupted", elapsed: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				if tt.cancelAt > 0 {
					var cancel context.CancelCauseFunc
					ctx, cancel = context.WithCancelCause(ctx)
					time.AfterFunc(tt.cancelAt, func() { cancel(errors.New("interrupted")) })
				}
				calls := 0
				exited := func() error {
					calls++
					if tt.exitAfter > 0 && calls >= tt.exitAfter {
						return errors.New("buildkitd exited")
					}
					return nil
				}
				start := time.Now()
				never := func(context.Context, string) bool { return false }
				err := waitUntilAnswers(ctx, never, addr, time.Minute, exited)
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("waitUntilAnswers() = %v, want an error containing %q", err, tt.errHas)
				}
				if got := time.Since(start); got != tt.elapsed {
					t.Errorf("waitUntilAnswers() returned after %s, want %s", got, tt.elapsed)
				}
			})
		})
	}
}

// TestNoBuilderError: the one message shown without a builder names what was tried,
// why nothing was started, and every way to get one.
func TestNoBuilderError(t *testing.T) {
	err := &NoBuilderError{Tried: []string{RootfulAddress, "unix:///c/devloop/buildkitd/buildkitd.sock"}, Why: errors.New("buildkitd is not on PATH")}
	msg := err.Error()
	for _, want := range []string{
		"nothing answers at " + RootfulAddress + ", unix:///c/devloop/buildkitd/buildkitd.sock",
		"buildkitd is not on PATH", "sudo buildkitd", "docker://", "docker-container://", "tcp://", "kube-pod://",
		"--addr", "builder.address", "$BUILDKIT_HOST",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("NoBuilderError message lacks %q:\n%s", want, msg)
		}
	}
}
