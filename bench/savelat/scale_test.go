package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseExtra(t *testing.T) {
	got, err := parseExtra("0, 10000,50000", "assets,package")
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, e := range got {
		labels = append(labels, e.label("devloop"))
	}
	want := "devloop|devloop +10k assets|devloop +10k package|devloop +50k assets|devloop +50k package"
	if g := strings.Join(labels, "|"); g != want {
		t.Errorf("labels = %s\nwant     %s", g, want)
	}
	for _, bad := range [][2]string{{"x", "assets"}, {"-1", "assets"}, {"10", "nope"}} {
		if _, err := parseExtra(bad[0], bad[1]); err == nil {
			t.Errorf("parseExtra(%q, %q): no error", bad[0], bad[1])
		}
	}
}

func TestExtraGenerate(t *testing.T) {
	for _, layout := range []string{layoutAssets, layoutPackage} {
		t.Run(layout, func(t *testing.T) {
			dir := t.TempDir()
			e := extraSpec{Files: 450, Layout: layout}
			if err := e.generate(dir); err != nil {
				t.Fatal(err)
			}
			n := 0
			err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					n++
					if fi, _ := d.Info(); fi.Size() != extraSize {
						t.Errorf("%s: %d bytes, want %d", p, fi.Size(), extraSize)
					}
				}
				return err
			})
			if err != nil || n != 450 {
				t.Errorf("generated %d files (%v), want 450", n, err)
			}
			if layout == layoutPackage && !strings.HasPrefix(string(e.content(3, "v2")), "package p0000\n") {
				t.Errorf("package layout content %q is not Go source of package p0000", e.content(3, "v2"))
			}
		})
	}
}

func TestParseCPUTime(t *testing.T) {
	line := "4242 (devloop (x)) S 1 4242 4242 0 -1 4194304 100 0 0 0 150 25 0 0 20 0 12 0 12345 0 0"
	got, ok := parseCPUTime(line)
	if !ok || got != 1750*time.Millisecond {
		t.Errorf("parseCPUTime = %v, %v; want 1.75s", got, ok)
	}
	if _, ok := parseCPUTime("garbage"); ok {
		t.Error("parseCPUTime(garbage) ok")
	}
	if d, ok := cpuTime(os.Getpid()); !ok || d < 0 {
		t.Errorf("cpuTime(self) = %v, %v", d, ok)
	}
	if rss := peakRSS(os.Getpid()); rss <= 0 {
		t.Errorf("peakRSS(self) = %d, want > 0", rss)
	}
}
