package feedback

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// echoSetup is a Detector whose output goes nowhere, and a file in a temp dir.
func echoSetup(t *testing.T, name string) (*Detector, io.Writer, string) {
	t.Helper()
	d := New(Options{Builds: 3})
	return d, d.Writer(io.Discard), filepath.Join(t.TempDir(), name)
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestEchoConvicts: a file that repeats devloop's output and alone starts builds is
// convicted at the third build in a row, once, and is devloop's own from then on.
func TestEchoConvicts(t *testing.T) {
	tests := []struct {
		name string
		echo func(line string) string // what the pipeline writes to the file for one line
	}{
		{"tee", func(l string) string { return l }},
		{"timestamps", func(l string) string { return "Nov 29 22:52:01 " + l }},
		{"pty line endings", func(l string) string { return l[:len(l)-1] + "\r\n" }},
		{"stderr interleaved", func(l string) string { return l + "2026/11/29 22:55:09 http2: server connection error\n" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, out, log := echoSetup(t, "dev.log")
			for n := 1; n <= 5; n++ {
				line := fmt.Sprintf("[devloop] build started #%d: server — 1 changed: dev.log\n", n)
				fmt.Fprint(out, line)
				appendFile(t, log, tt.echo(line))
				got := d.BuildStarted([]string{log})
				switch {
				case n == 3 && !slices.Equal(got, []string{log}):
					t.Fatalf("BuildStarted #%d = %v, want [%s]", n, got, log)
				case n != 3 && got != nil:
					t.Errorf("BuildStarted #%d = %v, want none", n, got)
				}
			}
			if !d.Own(log) {
				t.Errorf("Own(dev.log) after conviction = false, want true")
			}
		})
	}
}

func TestEchoDoesNotConvict(t *testing.T) {
	const line = "[devloop] build ok #2 in 1.31s\n"
	tests := []struct {
		name  string
		write func(t *testing.T, d *Detector, out io.Writer, log, src string) []string // paths of the build
	}{
		{"a source file", func(t *testing.T, _ *Detector, out io.Writer, _, src string) []string {
			fmt.Fprint(out, line)
			appendFile(t, src, "func main() {}\n")
			return []string{src}
		}},
		{"with a source file in the build", func(t *testing.T, _ *Detector, out io.Writer, log, src string) []string {
			fmt.Fprint(out, line)
			appendFile(t, log, line)
			appendFile(t, src, "// edit\n")
			return []string{log, src}
		}},
		{"a line devloop did not print", func(t *testing.T, _ *Detector, out io.Writer, log, _ string) []string {
			fmt.Fprint(out, line)
			appendFile(t, log, "[devloop] build ok #9 in 9.99s\n")
			return []string{log}
		}},
		{"short lines prove nothing", func(t *testing.T, _ *Detector, out io.Writer, log, _ string) []string {
			fmt.Fprint(out, "ok\n")
			appendFile(t, log, "ok\n")
			return []string{log}
		}},
		{"a directory", func(t *testing.T, _ *Detector, out io.Writer, log, _ string) []string {
			fmt.Fprint(out, line)
			_ = os.Mkdir(log+".d", 0o755)
			return []string{log + ".d"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, out, log := echoSetup(t, "dev.log")
			src := filepath.Join(filepath.Dir(log), "main.go")
			for n := range 6 {
				if got := d.BuildStarted(tt.write(t, d, out, log, src)); got != nil {
					t.Fatalf("BuildStarted #%d = %v, want none", n+1, got)
				}
			}
		})
	}
}

// TestEchoStreakResets: the builds must be in a row; one started for something else
// (an edit, the initial build) starts the count again.
func TestEchoStreakResets(t *testing.T) {
	d, out, log := echoSetup(t, "dev.log")
	src := filepath.Join(filepath.Dir(log), "main.go")
	appendFile(t, src, "package main\n")
	echo := func() []string {
		fmt.Fprintln(out, "[devloop] build cancelled #1")
		appendFile(t, log, "[devloop] build cancelled #1\n")
		return d.BuildStarted([]string{log})
	}
	for i, paths := range [][]string{{src}, nil, {src}} {
		if a, b := echo(), echo(); a != nil || b != nil {
			t.Fatalf("case %d: two echo builds convicted %v %v, want none", i, a, b)
		}
		d.BuildStarted(paths)
	}
	echo()
	echo()
	if got := echo(); !slices.Equal(got, []string{log}) {
		t.Errorf("third echo build in a row = %v, want [%s]", got, log)
	}
}

// TestWriterLines: lines are remembered across partial writes, and only the recent ones.
func TestWriterLines(t *testing.T) {
	d, out, log := echoSetup(t, "dev.log")
	fmt.Fprint(out, "[devloop] build ")
	fmt.Fprint(out, "started #7: server\n[devloop] bui")
	appendFile(t, log, "[devloop] build started #7: server\n")
	if !d.echoes(log) {
		t.Errorf("echoes() for a line written in two parts = false, want true")
	}
	for n := range recentLines {
		fmt.Fprintf(out, "ld line %d of many\n", n)
	}
	if d.echoes(log) {
		t.Errorf("echoes() for a line %d lines ago = true, want false", recentLines)
	}
}
