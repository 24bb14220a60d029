package main

import "testing"

func TestIgnoredPath(t *testing.T) {
	tests := []struct {
		rel  string
		want bool
	}{
		{"internal/greeting/greeting.go", false},
		{"cmd/server/main.go", false},
		{"README.md", false},
		{"bin/server", true},
		{"bin", true},
		{"tmp/server", true},
		{".devloop/staging/x", true},
		{"internal/greeting/greeting.go" + tempSuffix, true},
		{"internal/greeting/greeting.go___jb_old___", true},
		{"internal/greeting/greeting.go~", true},
		{"internal/greeting/.greeting.go.swp", true},
		{"internal/greeting/4913", true},
		{"internal/greeting/.#greeting.go", true},
		{"internal/.goutputstream-AB12CD", true},
		{"binaries/x.go", false},
	}
	for _, tt := range tests {
		if got := ignoredPath(tt.rel); got != tt.want {
			t.Errorf("ignoredPath(%q) = %v, want %v", tt.rel, got, tt.want)
		}
	}
}
