package loop

import "testing"

// TestRestarts: a process restarts when its program or a non-executable file of its
// target changed, or on any change when its program is unknown; a swap that changed
// only other executables (a CLI beside the server in a binaries stage) leaves it.
func TestRestarts(t *testing.T) {
	tests := []struct {
		name string
		prog string
		swap Swap
		want bool
	}{
		{"nothing changed", "srv", Swap{Unchanged: []string{"srv", "ctl"}}, false},
		{"its program changed", "srv", Swap{Changed: []string{"srv"}, Executables: []string{"srv"}}, true},
		{"only a sibling executable", "srv", Swap{Changed: []string{"ctl"}, Unchanged: []string{"srv"}, Executables: []string{"ctl"}}, false},
		{"a sibling and a data file", "srv", Swap{Changed: []string{"ctl", "config.yaml"}, Executables: []string{"ctl"}}, true},
		{"program unknown", "", Swap{Changed: []string{"ctl"}, Executables: []string{"ctl"}}, true},
		{"windows name", "srv", Swap{Changed: []string{"srv.exe"}, Executables: []string{"srv.exe"}}, true},
		{"per-platform program", "linux_amd64/srv", Swap{Changed: []string{"darwin_arm64/srv"}, Executables: []string{"darwin_arm64/srv"}}, false},
		{"a file that lost its execute bit", "srv", Swap{Changed: []string{"srv"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Loop{opts: Options{Program: func(string) string { return tt.prog }}}
			if got := l.restarts("server", tt.swap); got != tt.want {
				t.Errorf("restarts(%+v) with program %q = %v, want %v", tt.swap, tt.prog, got, tt.want)
			}
		})
	}
	if l := (&Loop{}); !l.restarts("server", Swap{Changed: []string{"ctl"}, Executables: []string{"ctl"}}) {
		t.Error("without Options.Program a change did not restart")
	}
}
