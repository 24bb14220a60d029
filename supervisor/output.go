package supervisor

import (
	"bufio"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// maxLine is the longest line copied in one piece; longer lines are split.
const maxLine = 64 << 10

// palette holds the ANSI SGR colours for prefixes: no black or white, which vanish
// on one terminal background or the other.
var palette = []string{"36", "33", "32", "35", "34", "31", "96", "93", "92", "95", "94", "91"}

// prefix returns "NAME | " with NAME padded to width, coloured with a colour that
// depends only on name when color is set.
func prefix(name string, width int, color bool) []byte {
	p := fmt.Sprintf("%-*s |", width, name)
	if color {
		h := fnv.New32a()
		_, _ = h.Write([]byte(name))
		p = "\x1b[" + palette[h.Sum32()%uint32(len(palette))] + "m" + p + "\x1b[0m"
	}
	return []byte(p + " ")
}

// copyLines copies src to dst line by line until src ends, writing each line with
// prefix in a single Write. Lines longer than maxLine are split; a last line without
// a newline is completed with one. Write errors are ignored and reading goes on, so a
// failing writer never blocks the process writing to src.
func copyLines(dst io.Writer, prefix []byte, src io.Reader) {
	r := bufio.NewReaderSize(src, maxLine)
	buf := make([]byte, 0, len(prefix)+maxLine+1)
	split := false // the previous chunk was a split piece of a longer line
	for {
		chunk, err := r.ReadSlice('\n')
		// After a split exactly at the newline, the newline alone ends the line
		// already written rather than being an empty line of its own.
		if len(chunk) > 0 && !(split && len(chunk) == 1 && chunk[0] == '\n') {
			if chunk[len(chunk)-1] == '\n' {
				chunk = chunk[:len(chunk)-1]
			}
			buf = append(append(append(buf[:0], prefix...), chunk...), '\n')
			_, _ = dst.Write(buf)
		}
		split = errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !split {
			return
		}
	}
}
