package main

import (
	"bufio"
	"io"
	"regexp"
	"slices"
	"sync"
	"time"
)

// logLine is one line of output with the time the harness read it.
type logLine struct {
	At   time.Time
	Text string
}

// lineLog collects the output of a loop (the reloader's and its server's) line by line,
// time-stamped, and copies it to an optional file.
type lineLog struct {
	mu    sync.Mutex
	lines []logLine
	last  time.Time
	copy  io.Writer
}

func newLineLog(copy io.Writer) *lineLog {
	return &lineLog{copy: copy, last: time.Now()}
}

var ansiEscape = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// add records one line (colour codes removed).
func (l *lineLog) add(text string) {
	text = ansiEscape.ReplaceAllString(text, "")
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, logLine{At: now, Text: text})
	l.last = now
	if l.copy != nil {
		_, _ = io.WriteString(l.copy, now.Format("15:04:05.000 ")+text+"\n")
	}
}

// touch marks activity that printed nothing (a build starting in the harness itself).
func (l *lineLog) touch() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = time.Now()
}

// lastActivity is when the last line arrived (or touch was called).
func (l *lineLog) lastActivity() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// mark is the index the next line will get.
func (l *lineLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// since returns the lines from index from on.
func (l *lineLog) since(from int) []logLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from >= len(l.lines) {
		return nil
	}
	return slices.Clone(l.lines[from:])
}

// tail returns the last n lines' text, for error reports.
func (l *lineLog) tail(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := max(0, len(l.lines)-n)
	out := make([]string, 0, len(l.lines)-start)
	for _, ln := range l.lines[start:] {
		out = append(out, ln.Text)
	}
	return out
}

// readLines adds every line of r to l until r ends.
func (l *lineLog) readLines(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l.add(sc.Text())
	}
	if sc.Err() != nil {
		l.add("[bench] output line unreadable: " + sc.Err().Error())
		_, _ = io.Copy(io.Discard, r) // keep the writer from blocking
	}
}
