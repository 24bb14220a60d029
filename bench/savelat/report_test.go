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
		"| devloop | ignored file (`README.md`) | 0 | 0 | no build | pass |",
		"| devloop | test file (`x_test.go`) | 1 | 1 | no restart | FAIL |",
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
}
