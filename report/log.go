package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.uber.org/zap/zapcore"
)

// NewLogCore returns a zap core that writes log entries at level and above to w as
// devloop's human lines, in the format of the status lines they appear among on a
// terminal, one line per entry:
//
//	[devloop] warning: exporter: cannot remove file no longer exported; will retry: remove bin/x: permission denied (path=bin/x)
//
// that is: the level unless info ("warning", "error"), the logger's name, the
// message, the error field, and the other fields as key=value (quoted when they hold
// spaces, lists joined by commas). zap's own console format (timestamps, levels, JSON fields) is for
// --log-level debug. Writes to w are serialised.
func NewLogCore(w io.Writer, level zapcore.LevelEnabler) zapcore.Core {
	return &logCore{LevelEnabler: level, out: &logWriter{w: w}}
}

type logWriter struct {
	mu sync.Mutex
	w  io.Writer
}

type logCore struct {
	zapcore.LevelEnabler
	out    *logWriter
	fields []zapcore.Field // from With
}

func (c *logCore) With(fields []zapcore.Field) zapcore.Core {
	return &logCore{LevelEnabler: c.LevelEnabler, out: c.out, fields: slices.Concat(c.fields, fields)}
}

func (c *logCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *logCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range slices.Concat(c.fields, fields) {
		f.AddTo(enc)
	}
	var b strings.Builder
	b.WriteString("[devloop] ")
	switch {
	case e.Level >= zapcore.ErrorLevel:
		b.WriteString("error: ")
	case e.Level == zapcore.WarnLevel:
		b.WriteString("warning: ")
	}
	if e.LoggerName != "" {
		b.WriteString(e.LoggerName + ": ")
	}
	b.WriteString(e.Message)
	if err, ok := enc.Fields["error"]; ok {
		fmt.Fprintf(&b, ": %v", err)
		delete(enc.Fields, "error")
		delete(enc.Fields, "errorVerbose") // the same error with its stack
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(enc.Fields)) {
		v := fmt.Sprint(enc.Fields[k])
		if list, ok := enc.Fields[k].([]any); ok {
			items := make([]string, len(list))
			for i, it := range list {
				items[i] = fmt.Sprint(it)
			}
			v = strings.Join(items, ",")
		}
		if strings.ContainsAny(v, " \t\n\"") || v == "" {
			v = strconv.Quote(v)
		}
		kv = append(kv, k+"="+v)
	}
	if len(kv) > 0 {
		b.WriteString(" (" + strings.Join(kv, ", ") + ")")
	}
	b.WriteByte('\n')
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	_, err := io.WriteString(c.out.w, b.String())
	return err
}

func (c *logCore) Sync() error { return nil }
