package main

import (
	"fmt"
	"io"
	"strings"
)

// report is the whole run, as printed and as written by --json.
type report struct {
	Command  string       `json:"command"`
	Machine  machineInfo  `json:"machine"`
	Settings settings     `json:"settings"`
	Loops    []loopResult `json:"loops"`
}

// goal is issue 5's target for devloop's median relative to another loop's.
type goal struct {
	base   string
	limit  float64
	strict bool // below the limit, not at it
}

var goals = []goal{
	{base: "floor", limit: 1.15},
	{base: "naive", limit: 0.60},
	{base: "air", limit: 1.00, strict: true},
}

func (g goal) String() string {
	if g.strict {
		return fmt.Sprintf("< %.2f×", g.limit)
	}
	return fmt.Sprintf("≤ %.2f×", g.limit)
}

// verdict says whether a/b meets g: "met", "missed by 12%", or "-" without data.
func (g goal) verdict(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	r := a / b
	if r < g.limit || (!g.strict && r == g.limit) {
		return "met"
	}
	return fmt.Sprintf("missed by %.0f%%", (r/g.limit-1)*100)
}

func (r *report) byName(name string) *loopResult {
	for i := range r.Loops {
		if r.Loops[i].Loop == name {
			return &r.Loops[i]
		}
	}
	return nil
}

// write prints the report as Markdown, ready for BENCHMARKS.md.
func (r *report) write(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "## save→serving latency\n\n")
	fmt.Fprintf(w, "- date: %s\n- machine: %d × %s, %s RAM, Linux %s, load %s\n", m.Date, m.NProc, m.CPU, m.Memory, m.Kernel, m.LoadAvg)
	fmt.Fprintf(w, "- go: %s\n", m.Go)
	if m.BuildKit != "" {
		fmt.Fprintf(w, "- buildkit: %s; daemon: %s\n", m.BuildKit, m.Daemon)
	}
	if m.Air != "" {
		fmt.Fprintf(w, "- air: %s\n", m.Air)
	}
	if m.Devloop != "" {
		fmt.Fprintf(w, "- devloop: %s\n", m.Devloop)
	}
	fmt.Fprintf(w, "- command: `%s`\n", r.Command)
	rounds := ""
	if r.Settings.Rounds > 1 {
		rounds = fmt.Sprintf(" in %d rounds (the loops take turns, each round on a fresh copy; startup is the slowest round's)", r.Settings.Rounds)
	}
	fmt.Fprintf(w, "- %d edits per loop%s, alternating %s saves; poll every %s (HTTP timeout %s); %s settle between edits\n\n",
		r.Settings.N, rounds, strings.Join(modeNames(), " and "), r.Settings.PollEvery, r.Settings.HTTPTimeout, r.Settings.Settle)

	fmt.Fprintf(w, "| loop | n | startup | min | median | p90 | max |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, l := range r.Loops {
		s := l.Summary
		name := l.Loop
		if l.Error != "" {
			name += " (failed)"
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s |\n", name, s.N, seconds(l.Startup),
			seconds(s.Min), seconds(s.Median), seconds(s.P90), seconds(s.Max))
	}

	var side []string
	for _, sh := range shapes {
		dev, written := r.byName("devloop-"+sh.name), r.byName("devloop-"+sh.name+writtenSuffix)
		if dev == nil || written == nil {
			continue
		}
		side = append(side, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", sh.name,
			seconds(written.Summary.Median), seconds(dev.Summary.Median), ratio(written.Summary.Median, dev.Summary.Median),
			seconds(written.Startup), seconds(dev.Startup)))
	}
	if len(side) > 0 {
		fmt.Fprintf(w, "\nDockerfile shapes, as written (dev_transform: false) and devloop's dev build, side by side:\n\n")
		fmt.Fprintf(w, "| shape | median as written | median dev build | as written / dev build | startup as written | startup dev build |\n|---|--:|--:|--:|--:|--:|\n%s\n", strings.Join(side, "\n"))
	}

	var ratios []string
	for _, l := range r.Loops {
		if sh, _ := shapeOf(l.Loop); sh != nil || !strings.HasPrefix(l.Loop, "devloop") || l.Summary.N == 0 || l.Error != "" {
			continue // a shape builds another Dockerfile than the other loops
		}
		for _, g := range goals {
			b := r.byName(g.base)
			if b == nil || b.Summary.N == 0 || b.Error != "" {
				continue
			}
			ratios = append(ratios, fmt.Sprintf("| %s / %s | %s | %s | %s |", l.Loop, g.base,
				ratio(l.Summary.Median, b.Summary.Median), g,
				g.verdict(l.Summary.Median.Seconds(), b.Summary.Median.Seconds())))
		}
	}
	if len(ratios) > 0 {
		fmt.Fprintf(w, "\n| median ratio | value | goal | verdict |\n|---|--:|--:|---|\n%s\n", strings.Join(ratios, "\n"))
	}

	var phases []string
	for _, l := range r.Loops {
		for _, p := range l.Phases {
			cells := make([]string, 0, len(phaseOrder)+1)
			for _, name := range append(phaseOrder[:len(phaseOrder):len(phaseOrder)], "total") {
				if v, ok := p.Medians[name]; ok {
					cells = append(cells, fmt.Sprintf("%.2f", v))
				} else {
					cells = append(cells, "-")
				}
			}
			phases = append(phases, fmt.Sprintf("| %s | %s (%s) | %d | %s |", l.Loop, p.Target, p.Verb, p.Lines, strings.Join(cells, " | ")))
		}
	}
	if len(phases) > 0 {
		fmt.Fprintf(w, "\ndevloop phases (medians in seconds, from devloop's status lines):\n\n")
		fmt.Fprintf(w, "| loop | target | lines | %s | total |\n|---|---|--:|%s--:|\n%s\n",
			strings.Join(phaseOrder, " | "), strings.Repeat("--:|", len(phaseOrder)), strings.Join(phases, "\n"))
	}

	r.writeScale(w)

	var checks []string
	for _, l := range r.Loops {
		for _, c := range l.Checks {
			verdict := "pass"
			if !c.Pass {
				verdict = "FAIL"
			}
			checks = append(checks, fmt.Sprintf("| %s | %s (`%s`) | %d | %d | %s | %s | %s |", l.Loop, c.Name, c.Path,
				c.Activity.Builds, c.Activity.Starts["server"], seconds(c.Work), c.Want, verdict))
		}
	}
	if len(checks) > 0 {
		fmt.Fprintf(w, "\n| loop | save | builds | server restarts | done after | want | result |\n|---|---|--:|--:|--:|---|---|\n%s\n", strings.Join(checks, "\n"))
	}

	for _, l := range r.Loops {
		if l.Error == "" {
			continue
		}
		fmt.Fprintf(w, "\n**%s failed:** %s\n", l.Loop, l.Error)
		if len(l.LastOutput) > 0 {
			fmt.Fprintf(w, "\n```\n%s\n```\n", strings.Join(l.LastOutput, "\n"))
		}
	}
}

func modeNames() []string {
	out := make([]string, len(editModes))
	for i, m := range editModes {
		out[i] = string(m)
	}
	return out
}
