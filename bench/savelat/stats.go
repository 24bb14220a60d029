package main

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// summary is the distribution of one loop's samples.
type summary struct {
	N      int           `json:"n"`
	Min    time.Duration `json:"min_ns"`
	Median time.Duration `json:"median_ns"`
	P90    time.Duration `json:"p90_ns"`
	Max    time.Duration `json:"max_ns"`
}

// summarize returns min, median (the mean of the two middle samples for an even count),
// p90 (nearest rank: the smallest sample at or above 90 % of them) and max. An empty
// input gives the zero summary.
func summarize(samples []time.Duration) summary {
	if len(samples) == 0 {
		return summary{}
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	n := len(s)
	median := s[n/2]
	if n%2 == 0 {
		median = (s[n/2-1] + s[n/2]) / 2
	}
	rank := int(math.Ceil(0.9 * float64(n)))
	return summary{N: n, Min: s[0], Median: median, P90: s[rank-1], Max: s[n-1]}
}

// medianFloat is the median of xs (mean of the two middle values for an even count), and
// false for an empty input.
func medianFloat(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2, true
	}
	return s[n/2], true
}

// ratio formats a/b as "1.23×", or "n/a" when either side has no measurement.
func ratio(a, b time.Duration) string {
	if a <= 0 || b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

// seconds formats d as seconds with three decimals: "0.912s"; "-" for no measurement.
func seconds(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}
