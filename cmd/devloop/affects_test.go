package main

import "testing"

func TestTargetInputsAffects(t *testing.T) {
	ti := &targetInputs{dirs: map[string]map[string]bool{
		"server": {"cmd/server": true, "internal/greeting": true, "internal/shared": true},
		"client": {"cmd/client": true, "internal/shared": true},
	}}
	tests := []struct {
		target string
		paths  []string
		want   bool
	}{
		{"server", []string{"internal/greeting/greeting.go"}, true},
		{"client", []string{"internal/greeting/greeting.go"}, false},
		{"client", []string{"cmd/server/handler.go", "cmd/server/main.go"}, false},
		{"client", []string{"internal/shared/x.go"}, true},
		{"client", []string{"cmd/server/handler.go", "cmd/client/main.go"}, true},
		{"client", []string{"go.mod"}, true},
		{"client", []string{"Dockerfile"}, true},
		{"client", []string{"docs/new/thing.txt"}, true},
		{"unknown", []string{"cmd/server/handler.go"}, true},
	}
	for _, tt := range tests {
		if got := ti.affects(tt.target, tt.paths); got != tt.want {
			t.Errorf("affects(%s, %v) = %v, want %v", tt.target, tt.paths, got, tt.want)
		}
	}
}
