package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// diffBase is the config a running `devloop up` started with; each case edits it.
const diffBase = `builder:
  address: tcp://127.0.0.1:1234
context: .
build_args:
  APP_VERSION: v1
  GOFLAGS: -mod=mod
secrets:
  token: {env: TOKEN}
targets:
  server:
    stage: server
    output: .
    build_args:
      GOFLAGS: -tags=prod
    run:
      command: [bin/server]
      ready: http://127.0.0.1:3000/
  client:
    stage: client
    output: .
watch:
  ignore: ["**/*.md"]
  debounce: 20ms
`

func parseDiff(t *testing.T, yaml string) *Config {
	t.Helper()
	c, err := Parse("devloop.yaml", []byte(yaml), testDir, testGrammars)
	if err != nil {
		t.Fatalf("Parse() error = %v\n%s", err, yaml)
	}
	return c
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name    string
		old     string // "" means diffBase
		edit    func(string) string
		want    []Change
		wantRun func(t *testing.T, old, next *Config) // checks on the config to run with
	}{
		{
			name: "comment and order only",
			edit: func(s string) string {
				return "# a comment\n" + strings.Replace(s, "  debounce: 20ms\n", "  debounce: 20ms # quiet\n", 1)
			},
		},
		{
			name: "project build arg reaches every target that does not override it",
			edit: func(s string) string { return strings.Replace(s, "APP_VERSION: v1", "APP_VERSION: v2", 1) },
			want: []Change{{Field: "build_args.APP_VERSION", Op: Changed, Line: 5, Effect: Rebuild, Targets: []string{"client", "server"}}},
			wantRun: func(t *testing.T, _, next *Config) {
				if got := next.Targets["server"].BuildArgs["APP_VERSION"]; got != "v2" {
					t.Errorf("next server APP_VERSION = %q, want v2", got)
				}
			},
		},
		{
			name: "project build arg a target overrides reaches only the others",
			edit: func(s string) string { return strings.Replace(s, "GOFLAGS: -mod=mod", "GOFLAGS: -mod=vendor", 1) },
			want: []Change{{Field: "build_args.GOFLAGS", Op: Changed, Line: 6, Effect: Rebuild, Targets: []string{"client"}}},
		},
		{
			name: "project build arg every target overrides: applied, nothing rebuilt",
			old: strings.NewReplacer(
				"  client:\n    stage: client\n", "  client:\n    stage: client\n    build_args: {APP_VERSION: c}\n",
				"      GOFLAGS: -tags=prod\n", "      GOFLAGS: -tags=prod\n      APP_VERSION: s\n",
			).Replace(diffBase),
			edit: func(s string) string { return strings.Replace(s, "APP_VERSION: v1", "APP_VERSION: v2", 1) },
			want: []Change{{Field: "build_args.APP_VERSION", Op: Changed, Line: 5, Effect: Apply}},
		},
		{
			name: "target starts overriding a project build arg",
			edit: func(s string) string {
				return strings.Replace(s, "      GOFLAGS: -tags=prod\n", "      GOFLAGS: -tags=prod\n      APP_VERSION: s\n", 1)
			},
			want: []Change{{Field: "targets.server.build_args.APP_VERSION", Op: Changed, Line: 15, Effect: Rebuild, Targets: []string{"server"}}},
		},
		{
			name: "target build arg added",
			edit: func(s string) string {
				return strings.Replace(s, "      GOFLAGS: -tags=prod\n", "      GOFLAGS: -tags=prod\n      CGO_ENABLED: 0\n", 1)
			},
			want: []Change{{Field: "targets.server.build_args.CGO_ENABLED", Op: Added, Line: 15, Effect: Rebuild, Targets: []string{"server"}}},
		},
		{
			name: "project build arg removed: line of build_args",
			edit: func(s string) string { return strings.Replace(s, "  APP_VERSION: v1\n", "", 1) },
			want: []Change{{Field: "build_args.APP_VERSION", Op: Removed, Line: 4, Effect: Rebuild, Targets: []string{"client", "server"}}},
		},
		{
			name: "dev_transform off project-wide rebuilds the targets that follow it",
			old:  strings.Replace(diffBase, "  client:\n    stage: client\n", "  client:\n    stage: client\n    dev_transform: false\n", 1),
			edit: func(s string) string { return "dev_transform: false\n" + s },
			want: []Change{{Field: "dev_transform", Op: Changed, Line: 1, Effect: Rebuild, Targets: []string{"server"}}},
			wantRun: func(t *testing.T, _, next *Config) {
				if next.Targets["server"].DevTransform || next.DevTransform {
					t.Errorf("next dev_transform = %v, server's %v, want false", next.DevTransform, next.Targets["server"].DevTransform)
				}
			},
		},
		{
			name: "dev_transform off for one target",
			edit: func(s string) string {
				return strings.Replace(s, "  client:\n    stage: client\n", "  client:\n    stage: client\n    dev_transform: false\n", 1)
			},
			want: []Change{{Field: "targets.client.dev_transform", Op: Changed, Line: 20, Effect: Rebuild, Targets: []string{"client"}}},
		},
		{
			name: "only added",
			edit: func(s string) string {
				return strings.Replace(s, "stage: client\n", "stage: client\n    only: [cmd/client]\n", 1)
			},
			want: []Change{{Field: "targets.client.only", Op: Added, Line: 20, Effect: Rebuild, Targets: []string{"client"}}},
		},
		{
			name: "stage",
			edit: func(s string) string { return strings.Replace(s, "stage: client", "stage: binaries", 1) },
			want: []Change{{Field: "targets.client.stage", Op: Changed, Line: 19, Effect: Rebuild, Targets: []string{"client"}}},
		},
		{
			name: "stage written out with the target's name",
			edit: func(s string) string { return strings.Replace(s, "    stage: client\n", "", 1) },
			want: []Change{{Field: "targets.client.stage", Op: Changed, Line: 18, Effect: Rebuild, Targets: []string{"client"}}},
		},
		{
			name: "secret changed rebuilds every target",
			edit: func(s string) string { return strings.Replace(s, "{env: TOKEN}", "{env: OTHER_TOKEN}", 1) },
			want: []Change{{Field: "secrets.token", Op: Changed, Line: 8, Effect: Rebuild, Targets: []string{"client", "server"}}},
		},
		{
			name: "run settings restart the process",
			edit: func(s string) string {
				s = strings.Replace(s, "command: [bin/server]", "command: [bin/server, --verbose]", 1)
				return strings.Replace(s, "      ready: http://127.0.0.1:3000/\n", "      ready: http://127.0.0.1:3000/\n      env: {LOG: debug}\n      stop_timeout: 1s\n", 1)
			},
			want: []Change{
				{Field: "targets.server.run.command", Op: Changed, Line: 16, Effect: RestartProcess, Targets: []string{"server"}},
				{Field: "targets.server.run.env", Op: Changed, Line: 18, Effect: RestartProcess, Targets: []string{"server"}},
				{Field: "targets.server.run.stop_timeout", Op: Changed, Line: 19, Effect: RestartProcess, Targets: []string{"server"}},
			},
			wantRun: func(t *testing.T, _, next *Config) {
				r := next.Targets["server"].Run
				if len(r.Command) != 2 || r.StopTimeout != time.Second || r.Env["LOG"] != "debug" {
					t.Errorf("next server run = %+v, want the new settings", r)
				}
			},
		},
		{
			name: "watching and caching apply to what follows",
			edit: func(s string) string {
				s = strings.Replace(s, "debounce: 20ms", "debounce: 200ms\n  max_wait: 5s", 1)
				s = strings.Replace(s, `ignore: ["**/*.md"]`, `ignore: ["**/*.md", "docs/**"]`, 1)
				s = strings.Replace(s, "builder:\n", "builder:\n  frontend: image\n", 1)
				return s + "cache:\n  from: [\"type=local,src=/tmp/c\"]\n"
			},
			want: []Change{
				{Field: "builder.frontend", Op: Changed, Line: 2, Effect: Apply},
				{Field: "watch.ignore", Op: Changed, Line: 23, Effect: Apply},
				{Field: "watch.debounce", Op: Changed, Line: 24, Effect: Apply},
				{Field: "watch.max_wait", Op: Changed, Line: 25, Effect: Apply},
				{Field: "cache.from", Op: Changed, Line: 27, Effect: Apply},
			},
			wantRun: func(t *testing.T, _, next *Config) {
				if next.Watch.Debounce != 200*time.Millisecond || next.Watch.MaxWait != 5*time.Second || next.Builder.Frontend != FrontendImage {
					t.Errorf("next = %+v %+v, want the new values", next.Watch, next.Builder)
				}
			},
		},
		{
			name: "builder address is not live",
			edit: func(s string) string { return strings.Replace(s, "tcp://127.0.0.1:1234", "tcp://127.0.0.1:4321", 1) },
			want: []Change{{Field: "builder.address", Op: Changed, Line: 2, Effect: NotLive}},
			wantRun: func(t *testing.T, old, next *Config) {
				if next.Builder.Address != old.Builder.Address {
					t.Errorf("next builder.address = %s, want the old %s", next.Builder.Address, old.Builder.Address)
				}
			},
		},
		{
			name: "context, dockerfile, output, on_busy are not live; the rest applies",
			edit: func(s string) string {
				s = strings.Replace(s, "context: .", "context: sub\ndockerfile: Other.Dockerfile", 1)
				s = strings.Replace(s, "    output: .\n    build_args:", "    output: out\n    build_args:", 1)
				return strings.Replace(s, "debounce: 20ms", "debounce: 30ms\n  on_busy: queue", 1)
			},
			want: []Change{
				{Field: "context", Op: Changed, Line: 3, Effect: NotLive},
				{Field: "dockerfile", Op: Changed, Line: 4, Effect: NotLive},
				{Field: "targets.server.output", Op: Changed, Line: 13, Effect: NotLive},
				{Field: "watch.debounce", Op: Changed, Line: 24, Effect: Apply},
				{Field: "watch.on_busy", Op: Changed, Line: 25, Effect: NotLive},
			},
			wantRun: func(t *testing.T, old, next *Config) {
				if next.Context != old.Context || next.Dockerfile != old.Dockerfile || next.Targets["server"].Output != old.Targets["server"].Output || next.Watch.OnBusy != old.Watch.OnBusy {
					t.Errorf("next kept none of the old values: %+v", next)
				}
				if next.Watch.Debounce != 30*time.Millisecond {
					t.Errorf("next debounce = %v, want the new 30ms", next.Watch.Debounce)
				}
			},
		},
		{
			name: "targets added and removed, run added are not live",
			edit: func(s string) string {
				s = strings.Replace(s, "  client:\n    stage: client\n    output: .\n", "  worker:\n    stage: worker\n", 1)
				return s
			},
			want: []Change{
				{Field: "targets.client", Op: Removed, Line: 9, Effect: NotLive},
				{Field: "targets.worker", Op: Added, Line: 18, Effect: NotLive},
			},
			wantRun: func(t *testing.T, old, next *Config) {
				if next.Targets["client"] != old.Targets["client"] || next.Targets["worker"] != nil {
					t.Errorf("next targets = %v, want the old set", next.TargetNames())
				}
			},
		},
		{
			name: "run section added",
			edit: func(s string) string {
				return strings.Replace(s, "    stage: client\n", "    stage: client\n    run: {command: [bin/client]}\n", 1)
			},
			want: []Change{{Field: "targets.client.run", Op: Added, Line: 20, Effect: NotLive}},
			wantRun: func(t *testing.T, _, next *Config) {
				if next.Targets["client"].Run != nil {
					t.Errorf("next client run = %+v, want none (not live)", next.Targets["client"].Run)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldText := tt.old
			if oldText == "" {
				oldText = diffBase
			}
			old, newText := parseDiff(t, oldText), tt.edit(oldText)
			nc := parseDiff(t, newText)
			next, got := Diff(old, nc)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff() changes =\n%s\nwant\n%s\nnew file:\n%s", fmtChanges(got), fmtChanges(tt.want), numbered(newText))
			}
			if tt.wantRun != nil {
				tt.wantRun(t, old, next)
			}
			// Diffing the config to run with against the file reports exactly the
			// keys that were not applied, and nothing when everything was.
			_, again := Diff(next, nc)
			var notLive []Change
			for _, c := range got {
				if c.Effect == NotLive {
					notLive = append(notLive, c)
				}
			}
			if len(again) != len(notLive) {
				t.Errorf("Diff(next, new) = %s, want only the keys not applied: %s", fmtChanges(again), fmtChanges(notLive))
			}
			for i := range again {
				if i < len(notLive) && again[i].Field != notLive[i].Field {
					t.Errorf("Diff(next, new)[%d] = %s, want %s", i, again[i].Field, notLive[i].Field)
				}
			}
		})
	}
}

// Diff does not modify either config.
func TestDiffLeavesInputs(t *testing.T) {
	old := parseDiff(t, diffBase)
	nc := parseDiff(t, strings.Replace(strings.Replace(diffBase, "tcp://127.0.0.1:1234", "tcp://127.0.0.1:1", 1), "output: .\n    build_args", "output: o\n    build_args", 1))
	oldCopy, newCopy := parseDiff(t, diffBase), *nc
	_, _ = Diff(old, nc)
	if !reflect.DeepEqual(old, oldCopy) || nc.Builder.Address != newCopy.Builder.Address || nc.Targets["server"].Output != testDir+"/o" {
		t.Error("Diff modified its arguments")
	}
}

func TestLine(t *testing.T) {
	c := parseDiff(t, diffBase)
	for field, want := range map[string]int{
		"builder.address":                   2,
		"build_args.APP_VERSION":            5,
		"targets.server.build_args.GOFLAGS": 14,
		"targets.server.run.ready":          17,
		"targets.client.run.command":        18, // no run: the target's line
		"watch.on_busy":                     21, // default: the watch key's line
		"no_such_key":                       0,
	} {
		if got := c.Line(field); got != want {
			t.Errorf("Line(%q) = %d, want %d", field, got, want)
		}
	}
}

func fmtChanges(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "  %d %s %s effect=%d targets=%v\n", c.Line, c.Field, c.Op, c.Effect, c.Targets)
	}
	if b.Len() == 0 {
		return "  (none)\n"
	}
	return b.String()
}

func numbered(s string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = fmt.Sprintf("%3d %s", i+1, lines[i])
	}
	return strings.Join(lines, "\n")
}
