package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Platform changes while devloop up runs: they rebuild the targets they reach, except
// where a process would have to start from another file (see differ.platform).
func TestDiffPlatform(t *testing.T) {
	const other = "linux/s390x" // not this machine's platform
	local := LocalPlatform()
	tests := []struct {
		name      string
		old, new  string
		want      []Change
		platforms map[string][]string // the targets' platforms to run with
	}{
		{
			name:      "project platform added: every target rebuilt, the server too (still one file)",
			new:       strings.Replace(diffBase, "context: .\n", "context: .\nplatform: "+other+"\n", 1),
			want:      []Change{{Field: "platform", Op: Added, Line: 4, Effect: Rebuild, Targets: []string{"client", "server"}}},
			platforms: map[string][]string{"client": {other}, "server": {other}},
		},
		{
			name:      "a run target from one platform to several: not live, its binary would move",
			new:       strings.Replace(diffBase, "    stage: server\n", "    stage: server\n    platform: [local, "+other+"]\n", 1),
			want:      []Change{{Field: "targets.server.platform", Op: Changed, Line: 12, Effect: NotLive}},
			platforms: map[string][]string{"client": nil, "server": {local}},
		},
		{
			name:      "a target without run: rebuilt with its new platforms",
			old:       strings.Replace(diffBase, "    stage: client\n", "    stage: client\n    platform: darwin/arm64\n", 1),
			new:       strings.Replace(diffBase, "    stage: client\n", "    stage: client\n    platform: [darwin/arm64, windows/amd64]\n", 1),
			want:      []Change{{Field: "targets.client.platform", Op: Changed, Line: 20, Effect: Rebuild, Targets: []string{"client"}}},
			platforms: map[string][]string{"client": {"darwin/arm64", "windows/amd64"}, "server": {local}},
		},
		{
			name: "project platform every target overrides: applied, nothing rebuilt",
			old: strings.NewReplacer("context: .\n", "context: .\nplatform: "+other+"\n",
				"    stage: client\n", "    stage: client\n    platform: local\n",
				"    stage: server\n", "    stage: server\n    platform: local\n").Replace(diffBase),
			new: strings.NewReplacer("context: .\n", "context: .\nplatform: darwin/arm64\n",
				"    stage: client\n", "    stage: client\n    platform: local\n",
				"    stage: server\n", "    stage: server\n    platform: local\n").Replace(diffBase),
			want:      []Change{{Field: "platform", Op: Changed, Line: 4, Effect: Apply}},
			platforms: map[string][]string{"client": {local}, "server": {local}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldText := tt.old
			if oldText == "" {
				oldText = diffBase
			}
			old, nc := parseDiff(t, oldText), parseDiff(t, tt.new)
			next, got := Diff(old, nc)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff() changes =\n%s\nwant\n%s\nnew file:\n%s", fmtChanges(got), fmtChanges(tt.want), numbered(tt.new))
			}
			for name, want := range tt.platforms {
				if got := next.Targets[name].Platforms; !slices.Equal(got, want) {
					t.Errorf("next targets.%s.Platforms = %q, want %q", name, got, want)
				}
			}
			_, again := Diff(next, nc)
			var notLive []Change
			for _, c := range got {
				if c.Effect == NotLive {
					notLive = append(notLive, c)
				}
			}
			if !reflect.DeepEqual(again, notLive) {
				t.Errorf("Diff(next, new) = %s, want only the keys not applied: %s", fmtChanges(again), fmtChanges(notLive))
			}
		})
	}
}

func TestRunPlatform(t *testing.T) {
	local := LocalPlatform()
	tests := []struct {
		platforms []string
		want      string
		multi     bool
	}{
		{nil, "", false},
		{[]string{"darwin/arm64"}, "darwin/arm64", false},
		{[]string{"darwin/arm64", local}, local, true},
		{[]string{"windows/amd64", "linux/s390x"}, "windows/amd64", true},
	}
	for _, tt := range tests {
		tg := &Target{Platforms: tt.platforms}
		if got := tg.RunPlatform(); got != tt.want {
			t.Errorf("RunPlatform() of %q = %q, want %q", tt.platforms, got, tt.want)
		}
		if got := tg.MultiPlatform(); got != tt.multi {
			t.Errorf("MultiPlatform() of %q = %v, want %v", tt.platforms, got, tt.multi)
		}
	}
}
