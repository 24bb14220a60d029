package supervisor

import (
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// writes records every Write as one element.
type writes struct {
	mu sync.Mutex
	w  []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.w = append(w.w, string(p))
	return len(p), nil
}

func (w *writes) get() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.w)
}

func TestCopyLines(t *testing.T) {
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"lines", "a\nb\n", []string{"p | a\n", "p | b\n"}},
		{"empty line kept", "a\n\nb\n", []string{"p | a\n", "p | \n", "p | b\n"}},
		{"partial last line", "a\nrest", []string{"p | a\n", "p | rest\n"}},
		{"long line split", x(maxLine*2+5) + "\n", []string{"p | " + x(maxLine) + "\n", "p | " + x(maxLine) + "\n", "p | " + x(5) + "\n"}},
		{"line of exactly maxLine", x(maxLine) + "\nb\n", []string{"p | " + x(maxLine) + "\n", "p | b\n"}},
		{"long partial line", x(maxLine + 1), []string{"p | " + x(maxLine) + "\n", "p | x\n"}},
		{"carriage return kept", "a\r\n", []string{"p | a\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range []struct {
				name string
				r    io.Reader
			}{{"whole", strings.NewReader(tt.in)}, {"byte by byte", iotest.OneByteReader(strings.NewReader(tt.in))}} {
				var w writes
				copyLines(&w, []byte("p | "), r.r)
				got := w.get()
				if len(got) != len(tt.want) {
					t.Fatalf("%s: copyLines() wrote %d lines %.60q, want %d lines %.60q", r.name, len(got), got, len(tt.want), tt.want)
				}
				for i := range got {
					if got[i] != tt.want[i] {
						t.Errorf("%s: line %d = %.60q, want %.60q", r.name, i, got[i], tt.want[i])
					}
				}
			}
		})
	}
}

// failingWriter fails every Write.
type failingWriter struct{ n int }

func (f *failingWriter) Write([]byte) (int, error) { f.n++; return 0, io.ErrClosedPipe }

func TestCopyLinesKeepsReadingAfterWriteErrors(t *testing.T) {
	r := strings.NewReader(strings.Repeat("line\n", 1000))
	var w failingWriter
	copyLines(&w, nil, r)
	if got := r.Len(); got != 0 {
		t.Errorf("unread bytes after copyLines() = %d, want 0", got)
	}
	if w.n != 1000 {
		t.Errorf("Write calls = %d, want 1000", w.n)
	}
}

func TestPrefix(t *testing.T) {
	tests := []struct {
		name  string
		width int
		color bool
		want  string
	}{
		{"server", 0, false, "server | "},
		{"api", 6, false, "api    | "},
		{"server", 3, false, "server | "},
	}
	for _, tt := range tests {
		if got := string(prefix(tt.name, tt.width, tt.color)); got != tt.want {
			t.Errorf("prefix(%q, %d, %v) = %q, want %q", tt.name, tt.width, tt.color, got, tt.want)
		}
	}
	a, b := string(prefix("api", 6, withColor)), string(prefix("api", 6, withColor))
	if a != b {
		t.Errorf("coloured prefix differs between calls: %q, %q", a, b)
	}
	if !strings.HasPrefix(a, "\x1b[") || !strings.Contains(a, "api    |\x1b[0m ") {
		t.Errorf("prefix(api, 6, true) = %q, want an ANSI-coloured \"api    |\"", a)
	}
	// Names are spread over the palette rather than all getting one colour.
	colours := map[string]bool{}
	for _, n := range []string{"server", "client", "api", "web", "worker", "db"} {
		colours[string(prefix(n, 0, withColor))[:5]] = true
	}
	if len(colours) < 3 {
		t.Errorf("6 names got %d distinct colours, want at least 3", len(colours))
	}
}

const withColor = true

// Color is honoured unless NO_COLOR is set and not empty (https://no-color.org).
func TestNoColor(t *testing.T) {
	for _, tt := range []struct {
		noColor string
		colored bool
	}{{"", true}, {"1", false}, {"0", false}} {
		t.Setenv("NO_COLOR", tt.noColor)
		s, err := newSupervisor(Options{Name: "srv", Command: []string{"x"}, Dir: t.TempDir(), Color: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(s.prefix), "\x1b["); got != tt.colored {
			t.Errorf("NO_COLOR=%q: prefix %q coloured = %v, want %v", tt.noColor, s.prefix, got, tt.colored)
		}
	}
}
