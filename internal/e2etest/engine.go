package e2etest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// RequireDockerEngine fails (never skips) when the testbed's Docker Engine is not
// configured, and returns what a command needs in its environment to use it
// (DOCKER_HOST). `make test` starts the engine with the rest of the testbed
// (hack/testbed/docker.sh) and sets DEVLOOP_TESTBED_DOCKER_HOST.
func RequireDockerEngine(t testing.TB) []string {
	t.Helper()
	RequireBuildKit(t)
	host := os.Getenv("DEVLOOP_TESTBED_DOCKER_HOST")
	if host == "" {
		t.Fatal("DEVLOOP_TESTBED_DOCKER_HOST is not set: the Docker Engine tests need the testbed's dockerd; " +
			"run `make test`, or `eval \"$(bash hack/testbed/up.sh --env)\"` first")
	}
	return []string{"DOCKER_HOST=" + host}
}

// RequireBuildKitContainer is RequireDockerEngine for the testbed's BuildKit container
// in that engine; it also returns the container's name (buildx_buildkit_NAME0).
func RequireBuildKitContainer(t testing.TB) (env []string, name string) {
	t.Helper()
	env = RequireDockerEngine(t)
	name = os.Getenv("DEVLOOP_TESTBED_BUILDKIT_CONTAINER")
	if name == "" {
		t.Fatal("DEVLOOP_TESTBED_BUILDKIT_CONTAINER is not set: run `make test`, or `eval \"$(bash hack/testbed/up.sh --env)\"` first")
	}
	return env, name
}

// reModDownload is the example's module download step, which needs the network.
var reModDownload = regexp.MustCompile(`(?s)RUN --mount=type=cache,target=/go/pkg/mod/ \\\n.*?go mod download -x\n`)

// OfflineExampleProject is ExampleProject for builders whose RUN steps have no route
// off the machine (the testbed's Docker Engine): the modules are vendored on the host
// and the Dockerfile builds with GOFLAGS=-mod=vendor GOPROXY=off instead of
// downloading them.
func OfflineExampleProject(t testing.TB, yaml string) string {
	t.Helper()
	dir := ExampleProject(t, yaml)
	vendor := exec.Command("go", "mod", "vendor")
	vendor.Dir = dir
	vendor.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := vendor.CombinedOutput(); err != nil {
		t.Fatalf("go mod vendor in %s: %v\n%s", dir, err, out)
	}
	df := filepath.Join(dir, "Dockerfile")
	data, err := os.ReadFile(df)
	if err != nil {
		t.Fatal(err)
	}
	if !reModDownload.Match(data) {
		t.Fatalf("%s has no `go mod download` step to replace:\n%s", df, data)
	}
	WriteFile(t, df, reModDownload.ReplaceAllString(string(data), "ENV GOFLAGS=-mod=vendor GOPROXY=off\n"))
	return dir
}
