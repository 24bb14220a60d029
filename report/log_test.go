package report

import (
	"bytes"
	"errors"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Log entries reach the terminal as devloop's human lines (issue 16 §8: zap's WARN
// lines interleaved with [devloop] lines), below the level nothing.
func TestLogCore(t *testing.T) {
	var out bytes.Buffer
	log := zap.New(NewLogCore(&out, zapcore.WarnLevel)).Named("exporter").With(zap.String("target", "app"))
	log.Debug("committed export")
	log.Info("completed interrupted export")
	log.Warn("cannot remove file no longer exported; will retry", zap.String("path", "bin/x"), zap.Error(errors.New("remove bin/x: permission denied")))
	log.Error("swap failed", zap.String("dir", "/tmp/a b"), zap.Int("renames", 3))
	zap.New(NewLogCore(&out, zapcore.InfoLevel)).Info("pinned", zap.Strings("refs", []string{"a", "b"}))
	want := `[devloop] warning: exporter: cannot remove file no longer exported; will retry: remove bin/x: permission denied (path=bin/x, target=app)
[devloop] error: exporter: swap failed (dir="/tmp/a b", renames=3, target=app)
[devloop] pinned (refs=a,b)
`
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}
