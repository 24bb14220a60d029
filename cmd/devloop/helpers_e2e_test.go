//go:build e2e

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/devloop/devloop/internal/e2etest"
)

// devloopBin is the devloop binary the end-to-end tests run, built once by TestMain
// (only with the e2e tag: the unit tests of this package need no binary and no daemon).
var devloopBin string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	bin, cleanup, err := e2etest.BuildDevloop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	devloopBin = bin
	return m.Run()
}

func replaceInFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	e2etest.WriteFile(t, path, strings.Replace(string(data), old, new, 1))
}

// runDevloop runs the devloop binary in dir and waits for it.
func runDevloop(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return e2etest.Run(t, dir, nil, devloopBin, args...)
}

// result is a finished devloop run.
type result = e2etest.Result

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return strings.TrimSpace(string(out))
}
