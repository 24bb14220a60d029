package dockerfile

import (
	"bytes"
	"regexp"
	"strings"
	"unicode"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Positions in the Dockerfile's source (see [Dockerfile.Source]) are byte offsets.
// An edit of the source that neither adds nor removes a line break keeps every
// instruction on its line: the way a Dockerfile can be changed and still have
// BuildKit's messages, and devloop's, point at the lines as written.

// lineStarts are the byte offsets at which the source's lines begin: index 0 is
// line 1. Lines end at "\n", as BuildKit's parser splits them.
func (d *Dockerfile) lineStarts() []int {
	starts := []int{0}
	for i, b := range d.source {
		if b == '\n' && i+1 < len(d.source) {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// line returns the text of 1-based line n without its line break, and the offset
// it starts at; false when the source has no such line.
func (d *Dockerfile) line(starts []int, n int) (string, int, bool) {
	if n < 1 || n > len(starts) {
		return "", 0, false
	}
	start := starts[n-1]
	end := len(d.source)
	if n < len(starts) {
		end = starts[n]
	}
	return strings.TrimRight(string(d.source[start:end]), "\r\n"), start, true
}

// AfterKeyword is the offset just after the keyword of instruction c ("RUN" of
// "RUN go build"): where a flag inserted as " --flag" joins the instruction on its
// first line. False when the source there is not as the parser read it.
func (d *Dockerfile) AfterKeyword(c instructions.Command) (int, bool) {
	starts := d.lineStarts()
	text, start, ok := d.line(starts, LineOf(c))
	if !ok {
		return 0, false
	}
	if LineOf(c) == 1 {
		text = strings.TrimPrefix(text, "\uFEFF")
		start += len(d.source[start:]) - len(bytes.TrimPrefix(d.source[start:], []byte("\uFEFF")))
	}
	trimmed := strings.TrimLeftFunc(text, unicode.IsSpace)
	at := start + len(text) - len(trimmed)
	name := c.Name()
	if len(trimmed) <= len(name) || !strings.EqualFold(trimmed[:len(name)], name) || !unicode.IsSpace(rune(trimmed[len(name)])) {
		return 0, false
	}
	return at + len(name), true
}

// CmdLineSpan maps the bytes [start, end) of the shell-form command line of RUN c
// (its CmdLine[0]; [Word.Start] and [Word.End] are such offsets) to the source:
// the offsets [from, to) they are written at. False when c has no shell-form
// command line, or when the bytes are not written contiguously on one line (a word
// split by a line continuation).
//
// The command line is what BuildKit's parser makes of the instruction's lines: the
// first without its leading white space, the continuation lines as written, each
// without its escape character and line break; comment lines and empty lines in
// between left out.
func (d *Dockerfile) CmdLineSpan(c *instructions.RunCommand, start, end int) (from, to int, ok bool) {
	if !c.PrependShell || len(c.CmdLine) != 1 || len(c.Files) > 0 || start < 0 || end <= start {
		return 0, 0, false
	}
	loc := c.Location()
	if len(loc) == 0 {
		return 0, 0, false
	}
	escape := string(d.ast.EscapeToken)
	continuation := regexp.MustCompile(`([^\` + escape + `])\` + escape + `[ \t]*$|^\` + escape + `[ \t]*$`)
	starts := d.lineStarts()
	var (
		joined strings.Builder
		at     []int // the source offset of each byte of joined
	)
	for n := loc[0].Start.Line; n <= loc[len(loc)-1].End.Line; n++ {
		text, off, ok := d.line(starts, n)
		if !ok {
			return 0, 0, false
		}
		if n == loc[0].Start.Line {
			trimmed := strings.TrimLeftFunc(text, unicode.IsSpace)
			off += len(text) - len(trimmed)
			text = trimmed
		} else {
			rest := strings.TrimLeftFunc(text, unicode.IsSpace)
			if strings.HasPrefix(rest, "#") || rest == "" {
				continue
			}
		}
		end := len(text)
		if m := continuation.FindStringSubmatchIndex(text); m != nil {
			end = m[0]
			if m[2] >= 0 {
				end = m[3] // keep the character before the escape
			}
		}
		for i := 0; i < end; i++ {
			joined.WriteByte(text[i])
			at = append(at, off+i)
		}
	}
	line := strings.TrimRightFunc(joined.String(), unicode.IsSpace)
	script := c.CmdLine[0]
	base := len(line) - len(script)
	if base < 0 || line[base:] != script || end > len(script) {
		return 0, 0, false
	}
	from, to = at[base+start], at[base+end-1]+1
	if to-from != end-start {
		return 0, 0, false // not contiguous in the source
	}
	return from, to, true
}
