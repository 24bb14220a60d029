// Command trace turns BuildKit's rawjson progress (`devloop build --progress rawjson`,
// `buildctl build --progress rawjson`) into a timeline of the solve: when each vertex
// started relative to the first, how long it ran, and whether it was a cache hit. It is
// the "where does the time go" view behind BENCHMARKS.md's bound on save→serving latency.
//
// Usage:
//
//	devloop build server --progress rawjson 2>&1 | trace [--md]
//	trace [--md] FILE...
//
// Lines that are not JSON (devloop's own status lines) are skipped. When the input holds
// several solves (the output of `devloop up --progress rawjson`), --last keeps only the
// last one, found by its "load build definition" vertex.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

func main() {
	md := flag.Bool("md", false, "print a Markdown table")
	last := flag.Bool("last", false, "only the last solve of the input")
	flag.Parse()
	if err := run(flag.Args(), *md, *last, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "trace:", err)
		os.Exit(1)
	}
}

func run(files []string, md, last bool, stdin io.Reader, stdout io.Writer) error {
	var readers []io.Reader
	if len(files) == 0 {
		readers = append(readers, stdin)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		defer fh.Close()
		readers = append(readers, fh)
	}
	vs, err := parse(io.MultiReader(readers...))
	if err != nil {
		return err
	}
	if last {
		vs = lastSolve(vs)
	}
	if len(vs) == 0 {
		return errors.New("no vertices in the input (was it --progress rawjson?)")
	}
	write(stdout, vs, md)
	return nil
}

// vertex is one step of the solve as the progress stream reported it.
type vertex struct {
	Digest    string
	Name      string
	Started   time.Time
	Completed time.Time
	Cached    bool
	Error     string
}

// rawVertex is the part of BuildKit's client.Vertex that the timeline needs.
type rawVertex struct {
	Digest    string     `json:"digest"`
	Name      string     `json:"name"`
	Started   *time.Time `json:"started"`
	Completed *time.Time `json:"completed"`
	Cached    bool       `json:"cached"`
	Error     string     `json:"error"`
}

// parse reads rawjson progress and merges the updates of each vertex. A vertex that
// runs again later (another solve in the same stream) is a separate entry.
func parse(r io.Reader) ([]*vertex, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	type key struct {
		digest  string
		started time.Time
	}
	byKey := map[key]*vertex{}
	var order []*vertex
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var st struct {
			Vertexes []rawVertex `json:"vertexes"`
		}
		if err := json.Unmarshal([]byte(line), &st); err != nil {
			continue // a status line that happens to start with "{"
		}
		for _, rv := range st.Vertexes {
			if rv.Started == nil {
				continue // queued, not started
			}
			k := key{rv.Digest, *rv.Started}
			v, ok := byKey[k]
			if !ok {
				v = &vertex{Digest: rv.Digest, Name: rv.Name, Started: *rv.Started}
				byKey[k] = v
				order = append(order, v)
			}
			if rv.Completed != nil {
				v.Completed = *rv.Completed
			}
			v.Cached = v.Cached || rv.Cached
			if rv.Error != "" {
				v.Error = rv.Error
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Started.Before(order[j].Started) })
	return order, nil
}

// lastSolve keeps the vertices from the last "load build definition" on.
func lastSolve(vs []*vertex) []*vertex {
	for i := len(vs) - 1; i >= 0; i-- {
		if strings.Contains(vs[i].Name, "load build definition") {
			return vs[i:]
		}
	}
	return vs
}

// write prints the timeline and the time from the first start to the last completion.
func write(w io.Writer, vs []*vertex, md bool) {
	t0 := vs[0].Started
	var end time.Time
	for _, v := range vs {
		if v.Completed.After(end) {
			end = v.Completed
		}
	}
	if md {
		fmt.Fprintln(w, "| start | duration | | step |")
		fmt.Fprintln(w, "|--:|--:|---|---|")
	}
	for _, v := range vs {
		dur := "running"
		if !v.Completed.IsZero() {
			dur = fmt.Sprintf("%.3fs", v.Completed.Sub(v.Started).Seconds())
		}
		mark := ""
		switch {
		case v.Error != "":
			mark = "ERROR"
		case v.Cached:
			mark = "CACHED"
		}
		name := v.Name
		if len(name) > 90 {
			name = name[:87] + "..."
		}
		if md {
			fmt.Fprintf(w, "| %.3fs | %s | %s | `%s` |\n", v.Started.Sub(t0).Seconds(), dur, mark, strings.ReplaceAll(name, "|", `\|`))
		} else {
			fmt.Fprintf(w, "%7.3fs %9s %-6s %s\n", v.Started.Sub(t0).Seconds(), dur, mark, name)
		}
	}
	if !end.IsZero() {
		if md {
			fmt.Fprintf(w, "\nfirst vertex started → last completed: %.3fs\n", end.Sub(t0).Seconds())
		} else {
			fmt.Fprintf(w, "total %.3fs (first vertex started → last completed)\n", end.Sub(t0).Seconds())
		}
	}
}
