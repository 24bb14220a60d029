package main

import (
	"slices"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want summary
	}{
		{"empty", nil, summary{}},
		{"one", ms(7), summary{N: 1, Min: 7 * time.Millisecond, Median: 7 * time.Millisecond, P90: 7 * time.Millisecond, Max: 7 * time.Millisecond}},
		{"odd, unsorted", ms(30, 10, 20), summary{N: 3, Min: 10 * time.Millisecond, Median: 20 * time.Millisecond, P90: 30 * time.Millisecond, Max: 30 * time.Millisecond}},
		{"even: median is the mean of the middle two", ms(40, 10, 30, 20), summary{N: 4, Min: 10 * time.Millisecond, Median: 25 * time.Millisecond, P90: 40 * time.Millisecond, Max: 40 * time.Millisecond}},
		{"ten: p90 is the 9th smallest", ms(100, 90, 80, 70, 60, 50, 40, 30, 20, 10), summary{N: 10, Min: 10 * time.Millisecond, Median: 55 * time.Millisecond, P90: 90 * time.Millisecond, Max: 100 * time.Millisecond}},
		{"eleven: p90 is the 10th smallest", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), summary{N: 11, Min: 1 * time.Millisecond, Median: 6 * time.Millisecond, P90: 10 * time.Millisecond, Max: 11 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			if got := summarize(tt.in); got != tt.want {
				t.Errorf("summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
			for i := range in {
				if tt.in[i] != in[i] {
					t.Fatalf("summarize reordered its input: %v, want %v", tt.in, in)
				}
			}
		})
	}
}

func TestMedianFloat(t *testing.T) {
	tests := []struct {
		in     []float64
		want   float64
		wantOK bool
	}{
		{nil, 0, false},
		{[]float64{0.3, 0.1, 0.2}, 0.2, true},
		{[]float64{1, 4, 2, 3}, 2.5, true},
	}
	for _, tt := range tests {
		got, ok := medianFloat(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("medianFloat(%v) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestRatio(t *testing.T) {
	tests := []struct {
		a, b time.Duration
		want string
	}{
		{1150 * time.Millisecond, time.Second, "1.15×"},
		{600 * time.Millisecond, 1500 * time.Millisecond, "0.40×"},
		{time.Second, time.Second, "1.00×"},
		{2 * time.Second, 3 * time.Second, "0.67×"},
		{0, time.Second, "n/a"},
		{time.Second, 0, "n/a"},
	}
	for _, tt := range tests {
		if got := ratio(tt.a, tt.b); got != tt.want {
			t.Errorf("ratio(%v, %v) = %q, want %q", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{912345 * time.Microsecond, "0.912s"},
		{1500 * time.Millisecond, "1.500s"},
		{0, "-"},
	}
	for _, tt := range tests {
		if got := seconds(tt.in); got != tt.want {
			t.Errorf("seconds(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGoalVerdict(t *testing.T) {
	tests := []struct {
		g    goal
		a, b float64
		want string
	}{
		{goal{base: "floor", limit: 1.15}, 1.0, 1.0, "met"},
		{goal{base: "floor", limit: 1.15}, 1.15, 1.0, "met"},
		{goal{base: "floor", limit: 1.15}, 1.38, 1.0, "missed by 20%"},
		{goal{base: "naive", limit: 0.6}, 0.9, 1.5, "met"},
		{goal{base: "air", limit: 1, strict: true}, 1.0, 1.0, "missed by 0%"},
		{goal{base: "air", limit: 1, strict: true}, 0.9, 1.6, "met"},
		{goal{base: "air", limit: 1, strict: true}, 0, 1.6, "-"},
	}
	for _, tt := range tests {
		if got := tt.g.verdict(tt.a, tt.b); got != tt.want {
			t.Errorf("goal %s vs %s: verdict(%v, %v) = %q, want %q", tt.g, tt.g.base, tt.a, tt.b, got, tt.want)
		}
	}
}

func TestSplitEdits(t *testing.T) {
	tests := []struct {
		n, rounds int
		want      []int
	}{
		{10, 1, []int{10}},
		{10, 2, []int{5, 5}},
		{10, 3, []int{4, 3, 3}},
		{3, 3, []int{1, 1, 1}},
	}
	for _, tt := range tests {
		if got := splitEdits(tt.n, tt.rounds); !slices.Equal(got, tt.want) {
			t.Errorf("splitEdits(%d, %d) = %v, want %v", tt.n, tt.rounds, got, tt.want)
		}
	}
}

func TestMergeRound(t *testing.T) {
	s := func(edit int, ms int) sample {
		return sample{Edit: edit, Latency: time.Duration(ms) * time.Millisecond}
	}
	r1 := loopResult{Loop: "floor", Startup: 500 * time.Millisecond, Samples: []sample{s(1, 100), s(2, 300)}}
	r2 := loopResult{Loop: "floor", Startup: 700 * time.Millisecond, Samples: []sample{s(1, 200), s(2, 250)}}
	got := mergeRound(mergeRound(loopResult{}, r1), r2)
	if n := len(got.Samples); n != 4 {
		t.Fatalf("merged %d samples, want 4", n)
	}
	for i, smp := range got.Samples {
		if smp.Edit != i+1 {
			t.Errorf("merged sample %d is numbered edit %d, want %d", i, smp.Edit, i+1)
		}
	}
	if got.Startup != 700*time.Millisecond {
		t.Errorf("startup = %s, want the slowest round's 700ms", got.Startup)
	}
	if got.Summary.Median != 225*time.Millisecond {
		t.Errorf("median = %s, want 225ms over both rounds", got.Summary.Median)
	}
	failed := mergeRound(got, loopResult{Loop: "floor", Error: "boom"})
	if failed.Error != "boom" || len(failed.Samples) != 4 {
		t.Errorf("after a failed round: error %q, %d samples; want boom and the 4 samples", failed.Error, len(failed.Samples))
	}
}
