package main

import (
	"bytes"
	"errors"
	"regexp"
	"testing"

	"go.uber.org/zap"
)

// The logger on the terminal writes devloop's human lines below --log-level debug
// and zap's console format at debug (issue 16 §8: zap WARN lines interleaved with
// [devloop] lines).
func TestNewLogger(t *testing.T) {
	tests := []struct {
		level string
		want  *regexp.Regexp
	}{
		{"warn", regexp.MustCompile(`^\[devloop\] warning: watcher: cannot watch directory: too many watches \(dir=a\)\n$`)},
		{"info", regexp.MustCompile(`^\[devloop\] warning: watcher: cannot watch directory: too many watches \(dir=a\)\n$`)},
		{"debug", regexp.MustCompile(`^WARN\twatcher\tcannot watch directory\t\{"dir": "a", "error": "too many watches"\}\n`)},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		log, err := newLogger(&out, tt.level)
		if err != nil {
			t.Fatalf("newLogger(%s): %v", tt.level, err)
		}
		log.Named("watcher").Warn("cannot watch directory", zap.String("dir", "a"), zap.Error(errors.New("too many watches")))
		if !tt.want.MatchString(out.String()) {
			t.Errorf("--log-level %s: %q, want it to match %s", tt.level, out.String(), tt.want)
		}
	}
	if _, err := newLogger(&bytes.Buffer{}, "loud"); err == nil {
		t.Errorf("newLogger(loud): no error")
	}
}
