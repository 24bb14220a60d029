//go:build e2e && unix

package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
	"github.com/devloop/devloop/rebuild"
)

// testCA is a certificate authority made up by a test.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM string // path of the CA certificate
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".pem")
	writePEM(t, path, "CERTIFICATE", der)
	return &testCA{cert: cert, key: key, certPEM: path}
}

// issue writes NAME.pem and NAME-key.pem signed by ca: a server certificate for
// 127.0.0.1 or a client certificate.
func (ca *testCA) issue(t *testing.T, dir, name string, server bool) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "EC PRIVATE KEY", keyDER)
	return certPath, keyPath
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// testDaemon is a buildkitd of its own, with an empty state, started by a test.
type testDaemon struct {
	addr string
	dir  string
}

// daemonTLS are the TLS files of a test daemon: the CA it trusts, its own certificate,
// and a client certificate it accepts (to check that it answers).
type daemonTLS struct{ ca, cert, key, clientCert, clientKey string }

// testbedRegistryConfig returns the [registry.…] sections of the testbed's
// buildkitd.toml: the docker.io mirror and the plain-HTTP loopback registry.
func testbedRegistryConfig(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("DEVLOOP_TESTBED_DIR")
	if dir == "" {
		t.Fatal("DEVLOOP_TESTBED_DIR is not set: run `eval \"$(bash hack/testbed/up.sh --env)\"` first")
	}
	data, err := os.ReadFile(filepath.Join(dir, "buildkitd.toml"))
	if err != nil {
		t.Fatalf("read the testbed's daemon config: %v", err)
	}
	i := strings.Index(string(data), "[registry.")
	if i < 0 {
		t.Fatalf("%s has no [registry.…] section", filepath.Join(dir, "buildkitd.toml"))
	}
	return string(data[i:])
}

// startDaemon starts buildkitd with a fresh --root in a temp dir, on tcp://127.0.0.1
// (with tls) or on a unix socket, and stops it when the test ends.
func startDaemon(t *testing.T, tcp bool, tls *daemonTLS) *testDaemon {
	t.Helper()
	bin, err := exec.LookPath("buildkitd")
	if err != nil {
		t.Fatalf("buildkitd is not on PATH (the testbed puts it in ~/.cache/devloop/bin): %v", err)
	}
	// A short path: unix socket paths are limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "dl-bkd-")
	if err != nil {
		t.Fatal(err)
	}
	d := &testDaemon{dir: dir, addr: "unix://" + filepath.Join(dir, "buildkitd.sock")}
	if tcp {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		d.addr = "tcp://" + l.Addr().String()
		_ = l.Close()
	}
	cfg := fmt.Sprintf(`root = %q
[grpc]
  address = [%q]
[otel]
  socketPath = %q
[worker.oci]
  enabled = true
  gc = true
[worker.containerd]
  enabled = false
%s`, filepath.Join(dir, "root"), d.addr, filepath.Join(dir, "otel.sock"), testbedRegistryConfig(t))
	cfgPath := filepath.Join(dir, "buildkitd.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", cfgPath}
	if tls != nil {
		args = append(args, "--tlscacert", tls.ca, "--tlscert", tls.cert, "--tlskey", tls.key)
	}
	logPath := filepath.Join(dir, "buildkitd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = logf.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // ends when the daemon exits; Cleanup makes sure it does
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove daemon state %s: %v", dir, err)
		}
	})

	// Wait until it answers (with the client side of its TLS, if any).
	opts := rebuild.Options{Address: d.addr, ConnectTimeout: time.Second}
	if tls != nil {
		opts.TLS = &rebuild.TLS{CA: tls.ca, Cert: tls.clientCert, Key: tls.clientKey}
	}
	err = e2etest.Poll(30*time.Second, 100*time.Millisecond, func() (bool, string) {
		select {
		case werr := <-exited:
			exited <- werr
			log, _ := os.ReadFile(logPath)
			t.Fatalf("buildkitd %v exited: %v\n%s", args, werr, log)
		default:
		}
		c, err := rebuild.Connect(context.Background(), opts)
		if err == nil {
			_ = c.Close()
			return true, ""
		}
		var ue *rebuild.UnreachableError
		return false, fmt.Sprintf("buildkitd at %s did not answer (unreachable: %v): %v", d.addr, errors.As(err, &ue), err)
	})
	if err != nil {
		log, _ := os.ReadFile(logPath)
		t.Fatalf("%v\n%s", err, log)
	}
	return d
}
