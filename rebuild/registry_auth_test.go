package rebuild

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/buildkit/session/auth"
)

// TestSolveOptRegistryAuth: every solve offers the daemon the docker CLI's registry
// credentials ($DOCKER_CONFIG/config.json), which pushing and pulling a registry cache
// (and pulling private base images) need.
func TestSolveOptRegistryAuth(t *testing.T) {
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	creds := base64.StdEncoding.EncodeToString([]byte("ci-user:ci-password"))
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"auths":{"registry.example.com":{"auth":"`+creds+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opt, err := solveOpt(Request{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Dest: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, a := range opt.Session {
		as, ok := a.(auth.AuthServer)
		if !ok {
			continue
		}
		found = true
		resp, err := as.Credentials(context.Background(), &auth.CredentialsRequest{Host: "registry.example.com"})
		if err != nil || resp.Username != "ci-user" || resp.Secret != "ci-password" {
			t.Errorf("Credentials(registry.example.com) = %v, %v, want ci-user / ci-password from config.json", resp, err)
		}
	}
	if !found {
		t.Errorf("solveOpt() session attachables %v offer no registry credentials", opt.Session)
	}
}

// TestSolveOptRegistryAuthFollowsDockerConfig: the credentials come from the
// $DOCKER_CONFIG of the solve, not from the first one a solve of the process saw.
func TestSolveOptRegistryAuthFollowsDockerConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"first-user", "second-user"} {
		cfgDir := t.TempDir()
		t.Setenv("DOCKER_CONFIG", cfgDir)
		creds := base64.StdEncoding.EncodeToString([]byte(user + ":pw"))
		if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(`{"auths":{"registry.example.com":{"auth":"`+creds+`"}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		opt, err := solveOpt(Request{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"), Dest: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range opt.Session {
			if as, ok := a.(auth.AuthServer); ok {
				resp, err := as.Credentials(context.Background(), &auth.CredentialsRequest{Host: "registry.example.com"})
				if err != nil || resp.Username != user {
					t.Errorf("DOCKER_CONFIG with %s: Credentials(registry.example.com) = %v, %v, want %s", user, resp, err, user)
				}
			}
		}
	}
}
