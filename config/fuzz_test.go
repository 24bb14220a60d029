package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that failures are non-empty
// Errors whose every line starts with the file name, and that successes are
// fully resolved.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz/devloop.yaml"
		c, err := Parse(name, data, testDir, testGrammars)
		if err != nil {
			if c != nil {
				t.Errorf("Parse() = %+v, %v; want nil config on error", c, err)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Parse() error = %T %v, want non-empty Errors", err, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, name+":") || len(line) <= len(name)+2 {
					t.Errorf("Parse() error line %q, want %q prefix and a message", line, name+":")
				}
			}
			return
		}
		if len(c.Targets) == 0 {
			t.Errorf("Parse() returned no targets and no error")
		}
		for _, p := range []string{c.Dir, c.Context, c.Dockerfile} {
			if !filepath.IsAbs(p) {
				t.Errorf("Parse() path %q is not absolute", p)
			}
		}
		for name, tg := range c.Targets {
			if tg.Name != name || tg.Stage == "" || !filepath.IsAbs(tg.Output) {
				t.Errorf("Parse() target %q = %+v, want name, stage and absolute output", name, tg)
			}
			if tg.Run != nil && (len(tg.Run.Command) == 0 || tg.Run.StopTimeout <= 0 || tg.Run.StopSignal == "") {
				t.Errorf("Parse() target %q run = %+v, want command, stop timeout and signal", name, tg.Run)
			}
		}
		if c.Watch.MaxWait < c.Watch.Debounce || c.Watch.OnBusy == "" {
			t.Errorf("Parse() watch = %+v, want max_wait >= debounce and on_busy set", c.Watch)
		}
		if ts, err := c.Select(nil); err != nil || len(ts) != len(c.Targets) {
			t.Errorf("Select(nil) = %d targets, %v; want %d", len(ts), err, len(c.Targets))
		}
	})
}
