//go:build unix

package exporter

import (
	"maps"
	"slices"
	"testing"
)

// A target built for several platforms: BuildKit's local exporter writes one
// subdirectory per platform. Each is swapped file by file like any export, recorded
// in the manifest, and removed once no export produces it — except what the user put
// there.
func TestPlatformSubdirectories(t *testing.T) {
	out, state := dirs(t)
	e := newExporter(t, Options{OutputDir: out, StateDir: state, Target: "server"})

	// One platform: bin/server.
	mustExport(t, e, map[string]node{"server": file("linux")})

	// Two platforms: one subdirectory each; the single-platform file is stale.
	res := mustExport(t, e, map[string]node{
		"linux_amd64/server":  file("linux"),
		"darwin_arm64/server": file("darwin"),
	})
	if want := []string{"darwin_arm64/server", "linux_amd64/server"}; !slices.Equal(res.Changed, want) {
		t.Errorf("Changed = %v, want %v", res.Changed, want)
	}
	if want := []string{"server"}; !slices.Equal(res.Removed, want) {
		t.Errorf("Removed = %v, want %v", res.Removed, want)
	}
	if got, want := e.Files(), []string{"darwin_arm64/server", "linux_amd64/server"}; !slices.Equal(got, want) {
		t.Errorf("Files() = %v, want %v", got, want)
	}
	writeTree(t, out, map[string]node{"darwin_arm64/notes.txt": file("mine")})

	// Back to one platform: the platform subdirectories go, but the user's file stays,
	// and with it its directory.
	res = mustExport(t, e, map[string]node{"linux_amd64/server": file("linux")})
	if want := []string{"darwin_arm64/server"}; !slices.Equal(res.Removed, want) {
		t.Errorf("Removed = %v, want %v", res.Removed, want)
	}
	want := map[string]string{
		"linux_amd64":            "dir -rwxr-xr-x",
		"linux_amd64/server":     `file -rwxr-xr-x "linux"`,
		"darwin_arm64":           "dir -rwxr-xr-x",
		"darwin_arm64/notes.txt": `file -rwxr-xr-x "mine"`,
	}
	if got := snapshot(t, out); !maps.Equal(got, want) {
		t.Errorf("output = %v, want %v", got, want)
	}

	res = mustExport(t, e, map[string]node{"server": file("linux")})
	if want := []string{"linux_amd64/server"}; !slices.Equal(res.Removed, want) {
		t.Errorf("Removed = %v, want %v", res.Removed, want)
	}
	want = map[string]string{
		"server":                 `file -rwxr-xr-x "linux"`,
		"darwin_arm64":           "dir -rwxr-xr-x",
		"darwin_arm64/notes.txt": `file -rwxr-xr-x "mine"`,
	}
	if got := snapshot(t, out); !maps.Equal(got, want) {
		t.Errorf("output = %v, want %v (linux_amd64/ removed: devloop created it and it is empty)", got, want)
	}
}
