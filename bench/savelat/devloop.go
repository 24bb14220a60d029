package main

import (
	"regexp"
	"strconv"
	"strings"
)

// devloopActivity is what devloop's stable output lines say about a stretch of time.
type devloopActivity struct {
	Builds       int            `json:"builds"`            // "[devloop] build started #N"
	Results      []buildResult  `json:"results,omitempty"` // "[devloop] build ok|failed|cancelled #N in Xs"
	Targets      []targetTiming `json:"targets,omitempty"` // "server: rebuilt in 1.31s (wait 0.05 · …)"
	Starts       map[string]int `json:"starts,omitempty"`  // "server: started (pid N)" per process
	NoDependents int            `json:"no_dependents"`     // "[devloop] no target depends on …"
}

// buildResult is one build's end line.
type buildResult struct {
	ID      int     `json:"id"`
	Verdict string  `json:"verdict"`
	Seconds float64 `json:"seconds"`
}

// targetTiming is one target's status line: its verb ("rebuilt" or "unchanged"), total
// and per-phase seconds (wait, solve, export, swap, restart).
type targetTiming struct {
	Target string             `json:"target"`
	Verb   string             `json:"verb"`
	Total  float64            `json:"total"`
	Phases map[string]float64 `json:"phases"`
}

var (
	reStarted  = regexp.MustCompile(`^\[devloop\] build started #(\d+)`)
	reFinished = regexp.MustCompile(`^\[devloop\] build (ok|failed|cancelled) #(\d+) in ([0-9.]+)s`)
	reTarget   = regexp.MustCompile(`^(\S+): (rebuilt|unchanged) in ([0-9.]+)s \(([^)]*)\)`)
	reProcess  = regexp.MustCompile(`^(\S+): started \(pid \d+\)`)
	reSkipped  = regexp.MustCompile(`^\[devloop\] no target depends on`)
)

// parseDevloop reads devloop up's output lines; other lines are ignored.
func parseDevloop(lines []logLine) devloopActivity {
	a := devloopActivity{Starts: map[string]int{}}
	for _, ln := range lines {
		t := ln.Text
		switch {
		case reStarted.MatchString(t):
			a.Builds++
		case reFinished.MatchString(t):
			m := reFinished.FindStringSubmatch(t)
			id, _ := strconv.Atoi(m[2])
			s, _ := strconv.ParseFloat(m[3], 64)
			a.Results = append(a.Results, buildResult{ID: id, Verdict: m[1], Seconds: s})
		case reTarget.MatchString(t):
			m := reTarget.FindStringSubmatch(t)
			total, _ := strconv.ParseFloat(m[3], 64)
			a.Targets = append(a.Targets, targetTiming{Target: m[1], Verb: m[2], Total: total, Phases: parsePhases(m[4])})
		case reProcess.MatchString(t):
			a.Starts[reProcess.FindStringSubmatch(t)[1]]++
		case reSkipped.MatchString(t):
			a.NoDependents++
		}
	}
	return a
}

// parsePhases reads "wait 0.05 · solve 1.02 · export 0.10".
func parsePhases(s string) map[string]float64 {
	phases := map[string]float64{}
	for _, part := range strings.Split(s, "·") {
		name, value, ok := strings.Cut(strings.TrimSpace(part), " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
			phases[name] = v
		}
	}
	return phases
}

// phaseOrder is the order of the phase columns.
var phaseOrder = []string{"wait", "solve", "export", "swap", "restart"}

// phaseRow is the per-phase medians of one target and verb over a loop's edits.
type phaseRow struct {
	Target  string             `json:"target"`
	Verb    string             `json:"verb"`
	Lines   int                `json:"lines"`
	Medians map[string]float64 `json:"medians"` // phase name → seconds; "total" too
}

// phaseMedians groups the status lines of all samples by target and verb.
func phaseMedians(samples []sample) []phaseRow {
	type key struct{ target, verb string }
	values := map[key]map[string][]float64{}
	count := map[key]int{}
	var order []key
	for _, s := range samples {
		if s.Devloop == nil {
			continue
		}
		for _, t := range s.Devloop.Targets {
			k := key{t.Target, t.Verb}
			if values[k] == nil {
				values[k] = map[string][]float64{}
				order = append(order, k)
			}
			count[k]++
			values[k]["total"] = append(values[k]["total"], t.Total)
			for name, v := range t.Phases {
				values[k][name] = append(values[k][name], v)
			}
		}
	}
	rows := make([]phaseRow, 0, len(order))
	for _, k := range order {
		r := phaseRow{Target: k.target, Verb: k.verb, Lines: count[k], Medians: map[string]float64{}}
		for name, vs := range values[k] {
			if m, ok := medianFloat(vs); ok {
				r.Medians[name] = m
			}
		}
		rows = append(rows, r)
	}
	return rows
}
