package main

import (
	"reflect"
	"testing"
	"time"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/rebuild"
	"github.com/devloop/devloop/supervisor"
)

func lines(text ...string) []logLine {
	out := make([]logLine, len(text))
	for i, t := range text {
		out[i] = logLine{Text: t}
	}
	return out
}

func TestParseDevloop(t *testing.T) {
	tests := []struct {
		name     string
		in       []logLine
		want     devloopActivity
		wantBusy bool
	}{
		{
			name: "one reload of two targets",
			in: lines(
				"[devloop] build started #2: client, server — 1 changed: internal/greeting/greeting.go",
				"server │ 2026/11/27 06:08:08 server dev listening on 127.0.0.1:3000",
				"server: started (pid 4242)",
				"client: unchanged in 0.91s (wait 0.05 · solve 0.80 · export 0.05 · swap 0.01) — bin/client already up to date",
				"\x1b[32mserver: rebuilt in 1.31s (wait 0.05 · solve 1.02 · export 0.10 · swap 0.01 · restart 0.13) — updated bin/server\x1b[0m",
				"[devloop] build ok #2 in 1.31s",
			),
			want: devloopActivity{
				Builds:  1,
				Results: []buildResult{{ID: 2, Verdict: "ok", Seconds: 1.31}},
				Targets: []targetTiming{
					{Target: "client", Verb: "unchanged", Total: 0.91, Phases: map[string]float64{"wait": 0.05, "solve": 0.80, "export": 0.05, "swap": 0.01}},
					{Target: "server", Verb: "rebuilt", Total: 1.31, Phases: map[string]float64{"wait": 0.05, "solve": 1.02, "export": 0.10, "swap": 0.01, "restart": 0.13}},
				},
				Starts: map[string]int{"server": 1},
			},
		},
		{
			name: "a superseded build and one still running",
			in: lines(
				"[devloop] build started #3: server",
				"[devloop] build cancelled #3 in 0.20s (superseded by newer changes)",
				"[devloop] build started #4: server",
			),
			want: devloopActivity{
				Builds:  2,
				Results: []buildResult{{ID: 3, Verdict: "cancelled", Seconds: 0.20}},
				Starts:  map[string]int{},
			},
			wantBusy: true,
		},
		{
			name: "skipped and failed",
			in: lines(
				"[devloop] no target depends on 1 changed: notes.txt",
				"[devloop] build started #5: server",
				"server: build failed at [build-server 1/1]: exit code 1",
				"[devloop] build failed #5 in 0.70s (failed: server)",
			),
			want: devloopActivity{
				Builds:       1,
				Results:      []buildResult{{ID: 5, Verdict: "failed", Seconds: 0.70}},
				Starts:       map[string]int{},
				NoDependents: 1,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := newLineLog(nil)
			for _, l := range tt.in {
				log.add(l.Text) // strips the colour codes, as for real output
			}
			got := parseDevloop(log.since(0))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseDevloop() = %+v, want %+v", got, tt.want)
			}
			if got := devloopBusy(log.since(0)); got != tt.wantBusy {
				t.Errorf("devloopBusy() = %v, want %v", got, tt.wantBusy)
			}
		})
	}
}

func TestPhaseMedians(t *testing.T) {
	timing := func(solve, restart float64) targetTiming {
		return targetTiming{Target: "server", Verb: "rebuilt", Total: solve + restart,
			Phases: map[string]float64{"solve": solve, "restart": restart}}
	}
	samples := []sample{
		{Devloop: &devloopActivity{Targets: []targetTiming{timing(1.0, 0.1)}}},
		{Devloop: &devloopActivity{Targets: []targetTiming{timing(3.0, 0.3), {Target: "client", Verb: "unchanged", Total: 0.5, Phases: map[string]float64{"solve": 0.5}}}}},
		{Devloop: &devloopActivity{Targets: []targetTiming{timing(2.0, 0.2)}}},
		{}, // a loop that is not devloop
	}
	want := []phaseRow{
		{Target: "server", Verb: "rebuilt", Lines: 3, Medians: map[string]float64{"solve": 2.0, "restart": 0.2, "total": 2.2}},
		{Target: "client", Verb: "unchanged", Lines: 1, Medians: map[string]float64{"solve": 0.5, "total": 0.5}},
	}
	if got := phaseMedians(samples); !reflect.DeepEqual(got, want) {
		t.Errorf("phaseMedians() = %+v, want %+v", got, want)
	}
}

func TestDevloopConfigParses(t *testing.T) {
	tests := []struct {
		serverOnly   bool
		frontend     string
		debounce     string
		written      bool
		wantTargets  []string
		wantFrontend string
		wantDebounce time.Duration
	}{
		{false, "", "", false, []string{"client", "server"}, "auto", config.DefaultDebounce},
		{true, "", "", false, []string{"server"}, "auto", config.DefaultDebounce},
		{false, "image", "", false, []string{"client", "server"}, "image", config.DefaultDebounce},
		{false, "", "50ms", false, []string{"client", "server"}, "auto", 50 * time.Millisecond},
		{false, "", "", true, []string{"client", "server"}, "auto", config.DefaultDebounce},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		o := devloopOptions{serverOnly: tt.serverOnly, frontend: tt.frontend, debounce: tt.debounce, written: tt.written}
		cfg, err := config.Parse("devloop.yaml", []byte(devloopConfig("127.0.0.1:4567", o)), dir, config.Grammars{
			CacheSpec: rebuild.CheckCacheSpec, Address: rebuild.CheckAddress,
			Ready: supervisor.CheckReady, Signal: supervisor.ParseSignal,
		})
		if err != nil {
			t.Fatalf("devloopConfig(serverOnly=%v) does not parse: %v", tt.serverOnly, err)
		}
		if cfg.DevTransform == tt.written {
			t.Errorf("devloopConfig(written=%v) dev_transform = %v", tt.written, cfg.DevTransform)
		}
		if got := cfg.Watch.Debounce; got != tt.wantDebounce {
			t.Errorf("devloopConfig(debounce=%q) watch.debounce = %s, want %s", tt.debounce, got, tt.wantDebounce)
		}
		if got := cfg.Builder.Frontend; got != tt.wantFrontend {
			t.Errorf("devloopConfig(frontend=%q) builder.frontend = %q, want %q", tt.frontend, got, tt.wantFrontend)
		}
		if got := cfg.TargetNames(); !reflect.DeepEqual(got, tt.wantTargets) {
			t.Errorf("devloopConfig(serverOnly=%v) targets = %v, want %v", tt.serverOnly, got, tt.wantTargets)
		}
		srv := cfg.Targets["server"]
		if srv.Run == nil {
			t.Fatalf("devloopConfig(serverOnly=%v): server has no run section", tt.serverOnly)
		}
		if got, want := srv.Run.Command, []string{"bin/server", "--addr", "127.0.0.1:4567"}; !reflect.DeepEqual(got, want) {
			t.Errorf("server command = %v, want %v", got, want)
		}
		if got, want := srv.Run.Ready, "http://127.0.0.1:4567/"; got != want {
			t.Errorf("server ready = %q, want %q", got, want)
		}
		if got, want := cfg.Watch.Ignore, []string{"**/*.md"}; !reflect.DeepEqual(got, want) {
			t.Errorf("watch.ignore = %v, want %v", got, want)
		}
	}
}
