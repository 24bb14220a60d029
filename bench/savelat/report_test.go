package main

import (
	"strings"
	"testing"
	"time"
)

func loopWith(name string, medianMS int) loopResult {
	d := time.Duration(medianMS) * time.Millisecond
	return loopResult{Loop: name, Samples: []sample{{Latency: d}}, Summary: summarize([]time.Duration{d})}
}

func TestReportWrite(t *testing.T) {
	dl := loopWith("devloop", 1200)
	dl.Samples[0].Devloop = &devloopActivity{Targets: []targetTiming{{Target: "server", Verb: "rebuilt", Total: 1.2,
		Phases: map[string]float64{"wait": 0.05, "solve": 0.9, "export": 0.1, "swap": 0.01, "restart": 0.14}}}}
	dl.Phases = phaseMedians(dl.Samples)
	dl.Checks = []noopCheck{
		{Name: "ignored file", Path: "README.md", Want: "no build", Pass: true, Activity: devloopActivity{}},
		{Name: "test file", Path: "x_test.go", Want: "no restart", Pass: false, Activity: devloopActivity{Builds: 1, Starts: map[string]int{"server": 1}}},
	}
	failed := loopWith("naive", 500) // a partial run: no ratio against it
	failed.Error, failed.LastOutput = "edit 2 (in-place): boom", []string{"last line"}
	r := &report{
		Command:  "savelat --n 1",
		Settings: settings{N: 1, PollEvery: 10 * time.Millisecond, HTTPTimeout: 2 * time.Second, Settle: time.Second},
		Loops:    []loopResult{loopWith("floor", 1000), failed, loopWith("air", 1600), dl},
	}
	var b strings.Builder
	r.write(&b)
	got := b.String()
	for _, want := range []string{
		"| floor | 1 | - | 1.000s | 1.000s | 1.000s | 1.000s |",
		"| devloop / floor | 1.20× | ≤ 1.15× | missed by 4% |",
		"| devloop / air | 0.75× | < 1.00× | met |",
		"| devloop | server (rebuilt) | 1 | 0.05 | 0.90 | 0.10 | 0.01 | 0.14 | 1.20 |",
		"| devloop | ignored file (`README.md`) | 0 | 0 | - | no build | pass |",
		"| devloop | test file (`x_test.go`) | 1 | 1 | - | no restart | FAIL |",
		"| naive (failed) | 1 |",
		"**naive failed:** edit 2 (in-place): boom",
		"last line",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report is missing %q; got:\n%s", want, got)
		}
	}
	if strings.Contains(got, "devloop / naive") {
		t.Errorf("report has a ratio against the failed naive loop; got:\n%s", got)
	}
	if strings.Contains(got, "context scale") {
		t.Errorf("report has a context-scale section without extra files; got:\n%s", got)
	}
}

func TestReportScale(t *testing.T) {
	withExtra := func(name string, files int, medianMS int, cpu cpuUse) loopResult {
		e := extraSpec{Files: files, Layout: layoutAssets}
		if files == 0 {
			e.Layout = ""
		}
		l := loopWith(e.label(name), medianMS)
		l.Name, l.Extra, l.CPU = name, e, &cpu
		return l
	}
	big := withExtra("devloop", 100000, 1300, cpuUse{Devloop: 2 * time.Second, Daemon: 1500 * time.Millisecond})
	big.PeakRSS = 42 << 20
	big.Checks = []noopCheck{{Name: "extra file the build does not read", Path: "assets/d0250/f000.txt", Want: "no restart", Pass: true,
		Activity: devloopActivity{Builds: 1, Starts: map[string]int{}}, Work: 300 * time.Millisecond}}
	r := &report{
		Settings: settings{N: 1},
		Loops: []loopResult{
			loopWith("floor", 600),
			withExtra("devloop", 0, 1000, cpuUse{Devloop: 100 * time.Millisecond, Daemon: 150 * time.Millisecond}),
			withExtra("devloop", 50000, 1050, cpuUse{Devloop: 120 * time.Millisecond, Daemon: 160 * time.Millisecond}),
			big,
		},
	}
	var b strings.Builder
	r.write(&b)
	got := b.String()
	for _, want := range []string{
		"| devloop +50k assets | 50000 (assets) | 1 | 1.050s | 1.05× | 0.12s | 0.16s | - |",
		"| devloop +100k assets | 100000 (assets) | 1 | 1.300s | 1.30× | 2.00s | 1.50s | 42 MB |",
		"| devloop +50k assets / devloop | 1.05× | ≤ 1.10× | met |",
		"| devloop +100k assets: save of `assets/d0250/f000.txt` (1 build(s), 0 restart(s)) | done after 0.300s | no restart, ≤ 0.200s | missed by 50% |",
		"| devloop / floor | 1.67× | ≤ 1.15× | missed by 45% |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("report is missing %q; got:\n%s", want, got)
		}
	}
}
