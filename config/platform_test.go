package config

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestLocalPlatform(t *testing.T) {
	got := LocalPlatform()
	if want := runtime.GOOS + "/" + runtime.GOARCH; got != want && !strings.HasPrefix(got, want+"/") {
		t.Errorf("LocalPlatform() = %q, want %q (and, on ARM, a variant)", got, want)
	}
}

func TestParsePlatforms(t *testing.T) {
	local := LocalPlatform()
	tests := []struct {
		in   []string
		want []string
	}{
		{[]string{"linux/amd64"}, []string{"linux/amd64"}},
		{[]string{"darwin/arm64"}, []string{"darwin/arm64"}},
		{[]string{"windows/amd64"}, []string{"windows/amd64"}},
		{[]string{"linux/arm/v7"}, []string{"linux/arm/v7"}},
		{[]string{"linux/arm"}, []string{"linux/arm/v7"}},     // normalized as BuildKit does
		{[]string{"linux/arm64/v8"}, []string{"linux/arm64"}}, // the default variant
		{[]string{"Linux/x86_64"}, []string{"linux/amd64"}},   // an alias, any case
		{[]string{"linux/amd64/v3"}, []string{"linux/amd64/v3"}},
		{[]string{"local"}, []string{local}},
		{[]string{"LOCAL"}, []string{local}},
		{[]string{"linux/amd64,darwin/arm64"}, []string{"linux/amd64", "darwin/arm64"}},
		{[]string{" linux/amd64 , darwin/arm64 "}, []string{"linux/amd64", "darwin/arm64"}},
		{[]string{"linux/amd64", "darwin/arm64,windows/amd64"}, []string{"linux/amd64", "darwin/arm64", "windows/amd64"}},
		{[]string{"linux/amd64,linux/x86_64", "linux/amd64"}, []string{"linux/amd64"}}, // repeats dropped
		{[]string{"local", local}, []string{local}},
	}
	for _, tt := range tests {
		got, err := ParsePlatforms(tt.in...)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParsePlatforms(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	const syntax = `want OS/ARCH[/VARIANT] as for docker build --platform (linux/amd64, linux/arm64, linux/arm/v7, darwin/arm64, windows/amd64) or "local"`
	errs := []struct{ in, want string }{
		{"", "empty platform; " + syntax},
		{"linux/amd64,", "empty platform; " + syntax},
		{"darwn/arm64", `invalid platform "darwn/arm64": unknown operating system "darwn"; ` + syntax},
		{"darwin/arm6", `invalid platform "darwin/arm6": unknown architecture "arm6"; ` + syntax},
		{"linux//amd64", `invalid platform "linux//amd64": ` + syntax},
		{"lokal", `invalid platform "lokal": ` + syntax},
	}
	for _, tt := range errs {
		got, err := ParsePlatforms(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParsePlatforms(%q) = %q, %v; want error %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParsePlatformKey(t *testing.T) {
	local := LocalPlatform()
	run := "run: {command: [bin/x]}"
	tests := []struct {
		name, yaml string
		want       map[string][]string // target → Platforms
	}{
		{"unset: run targets run here, others build for the daemon's default",
			"targets:\n  server: {" + run + "}\n  client:\n",
			map[string][]string{"server": {local}, "client": nil}},
		{"project-wide applies to every target, run or not",
			"platform: darwin/arm64\ntargets:\n  server: {" + run + "}\n  client:\n",
			map[string][]string{"server": {"darwin/arm64"}, "client": {"darwin/arm64"}}},
		{"a target's replaces the project's",
			"platform: [linux/amd64, linux/arm64]\ntargets:\n  server: {platform: local, " + run + "}\n  client: {platform: 'windows/amd64'}\n  tool:\n",
			map[string][]string{"server": {local}, "client": {"windows/amd64"}, "tool": {"linux/amd64", "linux/arm64"}}},
		{"comma-separated, as docker build --platform",
			"targets:\n  server: {platform: 'linux/amd64,darwin/arm64', " + run + "}\n",
			map[string][]string{"server": {"linux/amd64", "darwin/arm64"}}},
		{"a list, normalized, repeats dropped",
			"targets:\n  server:\n    platform:\n      - linux/arm\n      - linux/arm/v7,darwin/arm64\n",
			map[string][]string{"server": {"linux/arm/v7", "darwin/arm64"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("devloop.yaml", []byte(tt.yaml), testDir, testGrammars)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			for name, want := range tt.want {
				if got := c.Targets[name].Platforms; !slices.Equal(got, want) || (want == nil) != (got == nil) {
					t.Errorf("targets.%s.Platforms = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestParsePlatformErrors(t *testing.T) {
	const syntax = `want OS/ARCH[/VARIANT] as for docker build --platform (linux/amd64, linux/arm64, linux/arm/v7, darwin/arm64, windows/amd64) or "local"`
	tests := []struct{ name, yaml, want string }{
		{"unknown OS",
			"targets:\n  server:\n    platform: darwn/arm64\n",
			`devloop.yaml:3:15: targets.server.platform: invalid platform "darwn/arm64": unknown operating system "darwn"; ` + syntax},
		{"unknown architecture in a list",
			"platform:\n  - linux/amd64\n  - linux/amd46\ntargets: {a: }\n",
			`devloop.yaml:3:5: platform[1]: invalid platform "linux/amd46": unknown architecture "amd46"; ` + syntax},
		{"empty",
			"targets:\n  server: {platform: ''}\n",
			`devloop.yaml:2:22: targets.server.platform: empty platform; ` + syntax},
		{"null",
			"targets:\n  server:\n    platform:\n",
			`devloop.yaml:3:5: targets.server.platform: empty platform; ` + syntax},
		{"empty list",
			"targets:\n  server: {platform: []}\n",
			`devloop.yaml:2:22: targets.server.platform: must not be empty; ` + syntax},
		{"a mapping",
			"targets:\n  server: {platform: {os: linux}}\n",
			`devloop.yaml:2:22: targets.server.platform: must be a string`},
		{"a number",
			"targets:\n  server: {platform: 64}\n",
			`devloop.yaml:2:22: targets.server.platform: must be a string; quote it: "64"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("devloop.yaml", []byte(tt.yaml), testDir, testGrammars)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Parse() error = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestOverridePlatforms(t *testing.T) {
	c, err := Parse("devloop.yaml", []byte("platform: linux/amd64\ntargets:\n  server: {platform: local, run: {command: [x]}}\n  client:\n"), testDir, testGrammars)
	if err != nil {
		t.Fatal(err)
	}
	c.OverridePlatforms(nil)
	if got := c.Targets["client"].Platforms; !slices.Equal(got, []string{"linux/amd64"}) {
		t.Errorf("after OverridePlatforms(nil): client platforms = %q, want the file's", got)
	}
	c.OverridePlatforms([]string{"darwin/arm64", "windows/amd64"})
	for _, name := range []string{"server", "client"} {
		if got := c.Targets[name].Platforms; !slices.Equal(got, []string{"darwin/arm64", "windows/amd64"}) {
			t.Errorf("%s platforms = %q, want the override", name, got)
		}
	}
}

// The repository's devloop.yaml is what `make demo` builds, and the demo runs every
// binary it builds here: each target must build for this machine, not for the daemon's
// platform (a Linux one under Docker Desktop on a Mac or Windows).
func TestRepoConfigBuildsForLocal(t *testing.T) {
	data, err := os.ReadFile("../devloop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("devloop.yaml", data, testDir, testGrammars)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) == 0 {
		t.Fatal("the repository's devloop.yaml has no targets")
	}
	for name, tg := range c.Targets {
		if want := []string{LocalPlatform()}; !slices.Equal(tg.Platforms, want) {
			t.Errorf("target %s builds for %q, want %q: make demo runs it on this machine", name, tg.Platforms, want)
		}
	}
}
