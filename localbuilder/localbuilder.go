package localbuilder

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
)

// DefaultAddrEnv replaces the well-known sockets that [Daemon.Connect] probes before it
// starts a daemon. It is a test hook (the end-to-end tests point it at a socket that does
// not exist); the README documents it.
const DefaultAddrEnv = "DEVLOOP_DEFAULT_BUILDKIT_ADDR"

// RootfulAddress is where a rootful buildkitd started by hand or by a service manager
// listens unless told otherwise.
const RootfulAddress = "unix:///run/buildkit/buildkitd.sock"

// maxSocketPath is the shortest limit for a unix socket path among the unix systems
// (macOS: 104 bytes including the terminating NUL).
const maxSocketPath = 103

// Probe reports whether a BuildKit daemon answers at addr. The caller's probe usually
// connects with its BuildKit client and keeps the client when it answers.
type Probe func(ctx context.Context, addr string) bool

// Daemon is the buildkitd devloop starts, identified by its state directory.
type Daemon struct {
	dir string
	log *zap.Logger
}

// Default is the daemon whose state lives in os.UserCacheDir()/devloop/buildkitd
// (XDG_CACHE_HOME moves it).
func Default(log *zap.Logger) (Daemon, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return Daemon{}, fmt.Errorf("locate the state directory of devloop's builder: %w", err)
	}
	return At(filepath.Join(cache, "devloop", "buildkitd"), log), nil
}

// At is the daemon whose state lives in dir.
func At(dir string, log *zap.Logger) Daemon {
	if log == nil {
		log = zap.NewNop()
	}
	return Daemon{dir: dir, log: log.Named("localbuilder")}
}

// Dir is the state directory.
func (d Daemon) Dir() string { return d.dir }

// Root is buildkitd's --root: the build cache, kept when the daemon stops.
func (d Daemon) Root() string { return filepath.Join(d.dir, "root") }

// Address is the daemon's unix:// address.
func (d Daemon) Address() string { return "unix://" + d.socket() }

func (d Daemon) socket() string { return filepath.Join(d.dir, "buildkitd.sock") }

// Command returns the argv that starts buildkitd for d: buildkitd directly as root,
// under rootlesskit otherwise. lookPath is exec.LookPath (a test hook). An error says
// which prerequisite is missing.
func (d Daemon) Command(euid int, lookPath func(string) (string, error)) ([]string, error) {
	bkd, err := lookPath("buildkitd")
	if err != nil {
		return nil, errors.New("buildkitd is not on PATH")
	}
	if _, err := lookPath("runc"); err != nil {
		return nil, errors.New("runc is not on PATH (BuildKit's OCI worker runs build steps with it)")
	}
	if len(d.socket()) > maxSocketPath {
		return nil, fmt.Errorf("its socket path %s is longer than unix sockets allow (%d bytes); set XDG_CACHE_HOME to a shorter directory", d.socket(), maxSocketPath)
	}
	args := []string{bkd,
		"--addr", d.Address(),
		"--root", d.Root(),
		"--otel-socket-path", filepath.Join(d.dir, "otel-grpc.sock"),
		"--oci-worker=true", "--containerd-worker=false",
	}
	if euid == 0 {
		return args, nil
	}
	var missing []string
	for _, bin := range []string{"rootlesskit", "newuidmap", "newgidmap"} {
		if _, err := lookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("devloop is not running as root, and rootless BuildKit needs %s on PATH (packages rootlesskit and uidmap) and a range for your user in /etc/subuid and /etc/subgid",
			strings.Join(missing, ", "))
	}
	rk, _ := lookPath("rootlesskit")
	return append([]string{rk}, args...), nil
}

// DefaultAddresses are the sockets a daemon started by hand or by a service manager
// listens on: the rootful one, and for other users the rootless one. DefaultAddrEnv
// replaces them.
func DefaultAddresses(euid int) []string {
	if a := os.Getenv(DefaultAddrEnv); a != "" {
		return []string{a}
	}
	addrs := []string{RootfulAddress}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" && euid != 0 {
		addrs = append(addrs, "unix://"+filepath.Join(rt, "buildkit", "buildkitd.sock"))
	}
	return addrs
}

// Found is the daemon [Daemon.Connect] found or started.
type Found struct {
	// Address is where it answered.
	Address string
	// Started is set when this call started it: the caller says so to the user.
	Started bool
	// PID is the started daemon's pid (0 when not started by this call).
	PID int
}

// Connect implements builder address auto: a daemon answering at one of the
// [DefaultAddresses], else the daemon d (started earlier), else, when start is set, a
// new d started and waited for. Nothing answering and nothing started is a
// [*NoBuilderError].
func (d Daemon) Connect(ctx context.Context, answers Probe, start bool) (Found, error) {
	euid := os.Geteuid()
	defaults := DefaultAddresses(euid)
	for _, addr := range defaults {
		if probeSocket(ctx, answers, addr) {
			return Found{Address: addr}, nil
		}
	}
	if probeSocket(ctx, answers, d.Address()) {
		return Found{Address: d.Address()}, nil
	}
	var why error
	if start {
		var args []string
		if args, why = d.Command(euid, exec.LookPath); why == nil {
			f, err := d.start(ctx, answers, args)
			if err == nil || ctx.Err() != nil {
				return f, err
			}
			why = err
		}
	} else {
		why = errors.New("not starting one for this command")
	}
	return Found{}, &NoBuilderError{Tried: append(defaults, d.Address()), Why: why}
}

// probeSocket probes addr, skipping a unix socket that does not exist.
func probeSocket(ctx context.Context, answers Probe, addr string) bool {
	if p, ok := strings.CutPrefix(addr, "unix://"); ok {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return answers(ctx, addr)
}

// waitUntilAnswers probes addr every 100ms until the daemon answers, exited reports that
// the process is gone, or timeout passes.
func waitUntilAnswers(ctx context.Context, answers Probe, addr string, timeout time.Duration, exited func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if probeSocket(ctx, answers, addr) {
			return nil
		}
		if err := exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("it did not answer at %s within %s", addr, timeout)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// NoBuilderError is the one message shown when no daemon answers and devloop could
// not start one: what was tried, why nothing was started, and every way to get one.
type NoBuilderError struct {
	Tried []string
	Why   error
}

func (e *NoBuilderError) Error() string {
	return fmt.Sprintf(`no BuildKit daemon: nothing answers at %s, and devloop did not start one: %v
  ways to get a builder:
  - install BuildKit (buildkitd and runc on PATH, https://github.com/moby/buildkit/releases) and run devloop as root,
    or rootless with rootlesskit: devloop then starts buildkitd itself and leaves it running (devloop builder stop)
  - start one yourself:   sudo buildkitd &    (it listens on %s)
  - a Docker Engine 23+:  --addr docker://
  - a buildx builder:     --addr docker-container://buildx_buildkit_<builder>0
  - a remote daemon:      builder.address: tcp://HOST:1234 with builder.tls {ca, cert, key}
  - a Kubernetes pod:     --addr kube-pod://POD
  set the address with --addr, builder.address in devloop.yaml, or $BUILDKIT_HOST (the README's "Builders" section has examples)`,
		strings.Join(e.Tried, ", "), e.Why, RootfulAddress)
}

func (e *NoBuilderError) Unwrap() error { return e.Why }
