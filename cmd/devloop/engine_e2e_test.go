//go:build e2e && unix

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
	"github.com/devloop/devloop/localbuilder"
)

// tinyDockerfile builds one file in an alpine stage and exports it from scratch.
const tinyDockerfile = `FROM alpine AS gen
RUN echo hello-from-buildkit > /hello
FROM scratch AS out
COPY --from=gen /hello /
`

// tinyProject writes a project exporting stage out into ./out, with builderYAML (a
// builder: block, may be empty) at the top of its devloop.yaml.
func tinyProject(t *testing.T, dockerfile, builderYAML string) string {
	t.Helper()
	return writeProject(t, map[string]string{
		"Dockerfile":   dockerfile,
		"devloop.yaml": builderYAML + "targets:\n  out:\n    stage: out\n    output: out\n",
	})
}

// TestEngineTLS runs a second buildkitd on tcp://127.0.0.1 with mutual TLS (test-made
// certificates): a build succeeds with the right client certificate and fails with a
// clear message without TLS, with a client certificate from another CA, and when the
// daemon's CA is not the one devloop trusts.
func TestEngineTLS(t *testing.T) {
	e2etest.RequireBuildKit(t)
	certs := t.TempDir()
	ca := newTestCA(t, certs, "ca")
	other := newTestCA(t, certs, "other-ca")
	srvCert, srvKey := ca.issue(t, certs, "server", true)
	cliCert, cliKey := ca.issue(t, certs, "client", false)
	wrongCert, wrongKey := other.issue(t, certs, "wrong-client", false)
	d := startDaemon(t, true, &daemonTLS{ca: ca.certPEM, cert: srvCert, key: srvKey, clientCert: cliCert, clientKey: cliKey})

	tlsYAML := func(caPath, cert, key string) string {
		return fmt.Sprintf("builder:\n  address: %s\n  tls:\n    ca: %s\n    cert: %s\n    key: %s\n", d.addr, caPath, cert, key)
	}
	tests := []struct {
		name     string
		builder  string
		wantCode int
		want     []string // in stderr
	}{
		{"right client certificate", tlsYAML(ca.certPEM, cliCert, cliKey), 0, nil},
		{"no TLS", "builder:\n  address: " + d.addr + "\n", 3,
			[]string{"cannot reach BuildKit at " + d.addr, "requires TLS", "builder.tls"}},
		{"client certificate from another CA", tlsYAML(ca.certPEM, wrongCert, wrongKey), 3,
			[]string{"cannot reach BuildKit at " + d.addr, "client certificate signed by the CA it trusts"}},
		{"daemon signed by an untrusted CA", tlsYAML(other.certPEM, cliCert, cliKey), 3,
			[]string{"cannot reach BuildKit at " + d.addr, "does not trust the daemon's certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tinyProject(t, tinyDockerfile, tt.builder)
			r := runDevloop(t, dir, "build", "--progress", "plain")
			if r.Code != tt.wantCode {
				t.Fatalf("exit code %d, want %d\n%v", r.Code, tt.wantCode, r)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr lacks %q:\n%v", w, r)
				}
			}
			if tt.wantCode != 0 {
				return
			}
			got, err := os.ReadFile(filepath.Join(dir, "out", "hello"))
			if err != nil {
				t.Fatalf("read exported file: %v\n%v", err, r)
			}
			if want := "hello-from-buildkit\n"; string(got) != want {
				t.Errorf("out/hello = %q, want %q", got, want)
			}
		})
	}
}

// TestEnginePlainRemoteRefused: a plain tcp:// builder on another host is refused
// (exit 2, saying why) unless builder.insecure is set.
func TestEnginePlainRemoteRefused(t *testing.T) {
	addr := "tcp://192.0.2.1:1234" // TEST-NET-1: never routed
	tests := []struct {
		name     string
		builder  string
		wantCode int
		want     string
	}{
		{"refused", "builder:\n  address: " + addr + "\n", 2, "clear text"},
		{"insecure allows it", "builder:\n  address: " + addr + "\n  insecure: true\n", 3, "cannot reach BuildKit at " + addr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tinyProject(t, tinyDockerfile, tt.builder)
			r := runDevloop(t, dir, "build")
			if r.Code != tt.wantCode {
				t.Fatalf("exit code %d, want %d\n%v", r.Code, tt.wantCode, r)
			}
			if !strings.Contains(r.Stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%v", tt.want, r)
			}
		})
	}
}

// TestEngineRegistryCache shares cache through the testbed registry: daemon A builds
// the example's server and exports its cache (mode=max); a fresh daemon B imports it
// and its first build runs nothing; a fresh daemon C builds cold for comparison.
func TestEngineRegistryCache(t *testing.T) {
	e2etest.RequireBuildKit(t)
	reg := os.Getenv("DEVLOOP_TESTBED_REGISTRY")
	if reg == "" {
		t.Fatal("DEVLOOP_TESTBED_REGISTRY is not set: run `eval \"$(bash hack/testbed/up.sh --env)\"` first")
	}
	ref := reg + "/devloop-cache/greeter:e2e"
	// devloop.yaml differs per daemon, so it stays out of the build context: the
	// example's RUN steps bind-mount the whole context, and a different file there
	// would rightly miss the cache.
	project := func(addr, cache string) string {
		root := t.TempDir()
		app := e2etest.ExampleProject(t, "")
		if err := os.Rename(app, filepath.Join(root, "app")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(root, "app", "devloop.yaml")); err != nil {
			t.Fatal(err)
		}
		e2etest.WriteFile(t, filepath.Join(root, "devloop.yaml"), fmt.Sprintf(`builder:
  address: %s
context: app
%sbuild_args:
  APP_VERSION: cache-e2e
targets:
  server:
    stage: server
    output: .
`, addr, cache))
		return root
	}
	build := func(t *testing.T, dir string) result {
		t.Helper()
		r := runDevloop(t, dir, "build", "--progress", "plain")
		if r.Code != 0 {
			t.Fatalf("build: %v", r)
		}
		if got, want := output(t, filepath.Join(dir, "bin", "server"), "--version"), "server cache-e2e"; got != want {
			t.Errorf("bin/server --version = %q, want %q", got, want)
		}
		return r
	}

	a := startDaemon(t, false, nil)
	ra := build(t, project(a.addr, "cache:\n  to: [\"type=registry,ref="+ref+",mode=max\"]\n"))
	if !strings.Contains(ra.Stderr, "exporting cache to registry") {
		t.Errorf("daemon A's progress does not show the cache export:\n%v", ra)
	}

	b := startDaemon(t, false, nil)
	rb := build(t, project(b.addr, "cache:\n  from: [\"type=registry,ref="+ref+"\"]\n"))
	if !strings.Contains(rb.Stderr, "importing cache manifest from "+ref) {
		t.Errorf("daemon B's progress does not show the cache import:\n%v", rb)
	}
	if !stepCached(rb.Stderr, "[build-server 1/1] RUN") {
		t.Errorf("daemon B compiled the server instead of using the imported cache (the go build step is not CACHED):\n%v", rb)
	}

	c := startDaemon(t, false, nil)
	rc := build(t, project(c.addr, ""))
	if stepCached(rc.Stderr, "[build-server 1/1] RUN") {
		t.Errorf("daemon C was meant to build cold, but its go build step is CACHED:\n%v", rc)
	}
	t.Logf("fresh daemons: A cold build + cache export %s, B with the imported cache %s, C cold build %s",
		ra.Elapsed.Round(time.Millisecond), rb.Elapsed.Round(time.Millisecond), rc.Elapsed.Round(time.Millisecond))
	if 3*rb.Elapsed > rc.Elapsed {
		t.Errorf("build with the imported cache took %s, want well under a third of the cold build's %s", rb.Elapsed, rc.Elapsed)
	}
}

// stepCached reports whether plain progress shows the step whose name contains name
// as CACHED.
func stepCached(progress, name string) bool {
	re := regexp.MustCompile(`(?m)^#(\d+) .*` + regexp.QuoteMeta(name))
	for _, m := range re.FindAllStringSubmatch(progress, -1) {
		if strings.Contains(progress, "\n#"+m[1]+" CACHED\n") {
			return true
		}
	}
	return false
}

// TestEngineSecrets passes one secret from an environment variable and one from a
// file through BuildKit's secret provider: a RUN --mount=type=secret step can read
// them (it writes their hashes into the exported result), and neither value shows up
// in devloop's output (plain progress, debug logs) or its event stream.
func TestEngineSecrets(t *testing.T) {
	e2etest.RequireBuildKit(t)
	nonce := fmt.Sprintf("%d", time.Now().UnixNano())
	envValue, fileValue := "env-secret-"+nonce, "file-secret-"+nonce
	secretFile := filepath.Join(t.TempDir(), "token") // outside the build context
	if err := os.WriteFile(secretFile, []byte(fileValue), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DEVLOOP_E2E_SECRET", envValue)
	dir := tinyProject(t, `FROM alpine AS gen
ARG NONCE
RUN --mount=type=secret,id=envtok --mount=type=secret,id=filetok \
    echo "build $NONCE" && \
    sha256sum /run/secrets/envtok | cut -d' ' -f1 > /env.sha256 && \
    sha256sum /run/secrets/filetok | cut -d' ' -f1 > /file.sha256
FROM scratch AS out
COPY --from=gen /env.sha256 /file.sha256 /
`, fmt.Sprintf("build_args:\n  NONCE: %q\nsecrets:\n  envtok: {env: DEVLOOP_E2E_SECRET}\n  filetok: {file: %s}\n", nonce, secretFile))
	events := filepath.Join(t.TempDir(), "events.ndjson")
	r := runDevloop(t, dir, "build", "--progress", "plain", "--log-level", "debug", "--events", events)
	if r.Code != 0 {
		t.Fatalf("build: %v", r)
	}
	for file, value := range map[string]string{"env.sha256": envValue, "file.sha256": fileValue} {
		got, err := os.ReadFile(filepath.Join(dir, "out", file))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(value))
		if want := hex.EncodeToString(sum[:]) + "\n"; string(got) != want {
			t.Errorf("out/%s = %q, want %q (the hash of the secret)", file, got, want)
		}
	}
	ev, err := os.ReadFile(events)
	if err != nil || len(ev) == 0 {
		t.Fatalf("read events file: %v (%d bytes)", err, len(ev))
	}
	if !strings.Contains(r.Stderr, "build "+nonce) {
		t.Errorf("plain progress lacks the secret step's output %q; the leak check below would prove nothing:\n%v", "build "+nonce, r)
	}
	for _, value := range []string{envValue, fileValue} {
		for where, text := range map[string]string{"stdout": r.Stdout, "stderr": r.Stderr, "events": string(ev)} {
			if strings.Contains(text, value) {
				t.Errorf("secret value %q appears in %s:\n%s", value, where, text)
			}
		}
	}
}

// TestEngineAutoStart: with no builder configured and nothing at the default socket,
// devloop starts buildkitd itself (state under the user's cache dir), uses it, leaves
// it running for the next session, and `devloop builder stop` stops it.
func TestEngineAutoStart(t *testing.T) {
	e2etest.RequireBuildKit(t)
	if _, err := exec.LookPath("buildkitd"); err != nil {
		t.Fatalf("buildkitd is not on PATH (the testbed puts it in ~/.cache/devloop/bin): %v", err)
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	t.Setenv("BUILDKIT_HOST", "")
	t.Setenv(localbuilder.DefaultAddrEnv, "unix://"+filepath.Join(home, "absent.sock"))
	st := localbuilder.At(filepath.Join(home, ".cache", "devloop", "buildkitd"), nil)
	t.Cleanup(func() { // a failed test must not leave a daemon behind
		if pid, ok := st.Running(); ok {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			localbuilder.WaitExit(context.Background(), pid, 10*time.Second)
		}
	})
	dir := t.TempDir()
	e2etest.WriteFile(t, filepath.Join(dir, "Dockerfile"), "FROM scratch AS out\nCOPY hello /\n")
	e2etest.WriteFile(t, filepath.Join(dir, "hello"), "hello-auto\n")
	e2etest.WriteFile(t, filepath.Join(dir, "devloop.yaml"), "targets:\n  out:\n    output: out\n")

	r := runDevloop(t, dir, "build", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("first build: %v", r)
	}
	if !strings.Contains(r.Stderr, "started a BuildKit daemon") || !strings.Contains(r.Stderr, st.Address()) {
		t.Errorf("first build does not say it started a daemon at %s:\n%v", st.Address(), r)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "out", "hello")); err != nil || string(got) != "hello-auto\n" {
		t.Errorf("out/hello = %q, %v, want %q", got, err, "hello-auto\n")
	}
	pid, ok := st.Running()
	if !ok {
		t.Fatalf("no running daemon recorded in %s after the first build", st.Dir())
	}

	r = runDevloop(t, dir, "build", "--progress", "plain")
	if r.Code != 0 {
		t.Fatalf("second build: %v", r)
	}
	if strings.Contains(r.Stderr, "started a BuildKit daemon") {
		t.Errorf("second build started another daemon instead of reusing pid %d:\n%v", pid, r)
	}
	if again, _ := st.Running(); again != pid {
		t.Errorf("daemon pid after the second build = %d, want %d (the same daemon)", again, pid)
	}

	r = runDevloop(t, dir, "builder", "stop")
	if r.Code != 0 || !strings.Contains(r.Stdout, fmt.Sprintf("stopped the BuildKit daemon devloop started (pid %d)", pid)) {
		t.Fatalf("builder stop: %v", r)
	}
	if localbuilder.ProcessAlive(pid) {
		t.Errorf("buildkitd pid %d still runs after builder stop", pid)
	}
	if left := processesMentioning(t, home); len(left) > 0 {
		t.Errorf("processes left running with state in %s: %v", home, left)
	}

	r = runDevloop(t, dir, "builder", "stop")
	if r.Code != 0 || !strings.Contains(r.Stdout, "no BuildKit daemon started by devloop is running") {
		t.Errorf("second builder stop: %v", r)
	}
}

// processesMentioning lists live processes whose command line contains s.
func processesMentioning(t *testing.T, s string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("list processes: %v", err)
	}
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !localbuilder.ProcessAlive(pid) {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) {
			out = append(out, e.Name()+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}
