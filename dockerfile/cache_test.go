package dockerfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestCacheParsesEachContentOnce: loading the same content again returns the parsed
// Dockerfile without parsing it again (the same value); an edit is seen at once, and
// undoing it finds the earlier parse.
func TestCacheParsesEachContentOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "Dockerfile")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	load := func(c *Cache) *Dockerfile {
		t.Helper()
		d, err := c.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	c := NewCache()
	write("FROM alpine AS a\n")
	first := load(c)
	if again := load(c); again != first {
		t.Errorf("Load of the same content parsed it again")
	}
	if _, err := c.Syntax(p, nil); err != nil {
		t.Fatal(err)
	}
	write("FROM alpine AS b\n")
	edited := load(c)
	if edited == first || edited.Stages[0].Name != "b" {
		t.Errorf("Load after an edit = stage %q (same value: %v), want the edit", edited.Stages[0].Name, edited == first)
	}
	write("FROM alpine AS a\n")
	if undone := load(c); undone != first {
		t.Errorf("Load after undoing the edit parsed the content again")
	}
	for i := range cacheSize {
		write("FROM alpine AS s" + strings.Repeat("x", i) + "\n")
		load(c)
	}
	write("FROM alpine AS a\n")
	if old := load(c); old == first || old.Stages[0].Name != "a" {
		t.Errorf("Load of a content evicted long ago = %q, same value %v: want a new parse", old.Stages[0].Name, old == first)
	}
	if d := load(nil); d == load(nil) {
		t.Errorf("a nil Cache kept a parse")
	}
}

// TestCacheConcurrentLoads: loads of a new content at the same time share one parse.
func TestCacheConcurrentLoads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, []byte("FROM golang:1.26 AS b\nRUN go build ./...\nFROM scratch AS app\nCOPY --from=b /out /\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := NewCache()
	got := make([]*Dockerfile, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			d, err := c.Load(p)
			if err != nil {
				t.Error(err)
			}
			got[i] = d
		})
	}
	wg.Wait()
	for i, d := range got {
		if d != got[0] {
			t.Errorf("load %d got another parse than load 0", i)
		}
	}
}

// TestCacheErrors: a parse error is kept with its content like a parse; the syntax
// directive is read even then; a missing file is an error naming it.
func TestCacheErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(p, []byte("# syntax=docker/dockerfile:1\nFROM alpine\nFORM x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := NewCache()
	_, err1 := c.Load(p)
	_, err2 := c.Load(p)
	if err1 == nil || err1 != err2 || !strings.Contains(err1.Error(), p+":3:") {
		t.Errorf("Load of a bad Dockerfile = %v, then %v: want the same error naming %s:3", err1, err2, p)
	}
	if s, err := c.Syntax(p, nil); err != nil || s != "docker/dockerfile:1" {
		t.Errorf("Syntax of a Dockerfile that does not parse = %q, %v, want its directive", s, err)
	}
	missing := filepath.Join(dir, "Missing.Dockerfile")
	_, err := c.Load(missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "read Dockerfile: ") || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load of a missing file = %v, want a read error naming it", err)
	}
}
