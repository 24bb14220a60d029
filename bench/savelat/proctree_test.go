package main

import "testing"

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, in string
		want     procInfo
		wantOK   bool
	}{
		{"plain", "4242 (server) S 4200 4242 4100 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 7 0 987654 1000000 300",
			procInfo{PID: 4242, PPID: 4200, PGID: 4242, Start: 987654, State: "S"}, true},
		{"comm with spaces and parentheses", "77 (a b) (c)) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0",
			procInfo{PID: 77, PPID: 1, PGID: 77, Start: 55, State: "R"}, true},
		{"truncated", "77 (x) R 1 77", procInfo{}, false},
		{"garbage", "hello", procInfo{}, false},
	}
	for _, tt := range tests {
		got, ok := parseStat(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: parseStat() = %+v, %v, want %+v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}
