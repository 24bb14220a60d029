//go:build unix

package exporter

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkCommit10MB commits two 10 MB files that either all changed or are
// all unchanged since the previous commit. Writing the staged files (BuildKit's
// job) is not timed.
func BenchmarkCommit10MB(b *testing.B) {
	versions := [2][]byte{bytes.Repeat([]byte{'a'}, 10<<20), bytes.Repeat([]byte{'b'}, 10<<20)}
	for _, bc := range []struct {
		name    string
		changed bool
	}{{"changed", true}, {"unchanged", false}} {
		b.Run(bc.name, func(b *testing.B) {
			out, state := dirs(b)
			e := newExporter(b, Options{OutputDir: out, StateDir: state, Target: "app"})
			i := 0
			b.SetBytes(2 * 10 << 20)
			for b.Loop() {
				b.StopTimer()
				if bc.changed {
					i++
				}
				st, err := e.Begin()
				if err != nil {
					b.Fatal(err)
				}
				for _, name := range []string{"server", "client"} {
					p := filepath.Join(st.Dir(), "bin", name)
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						b.Fatal(err)
					}
					if err := os.WriteFile(p, versions[i%2], 0o755); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if _, err := st.Commit(); err != nil {
					b.Fatal(err)
				}
				if err := st.Discard(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
