package feedback

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// stage starts `sh -c script` in dir reading the returned pipe on its standard input
// (or, with onFD3, on descriptor 3 with /dev/null as standard input), like the stages
// after devloop in a shell pipeline. It waits until every file of ready exists.
func stage(tb testing.TB, dir, script string, onFD3 bool, ready ...string) *os.File {
	tb.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	startStage(tb, r, w, dir, script, onFD3)
	for _, f := range ready {
		waitFile(tb, filepath.Join(dir, f))
	}
	return w
}

// startStage starts script reading r; at cleanup it closes w, the end it writes to,
// and waits for the script to end.
func startStage(tb testing.TB, r, w *os.File, dir, script string, onFD3 bool) {
	tb.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = dir
	if onFD3 {
		cmd.ExtraFiles = []*os.File{r}
	} else {
		cmd.Stdin = r
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	r.Close()
	tb.Cleanup(func() {
		w.Close() // EOF ends the stages
		if err := cmd.Wait(); err != nil {
			tb.Errorf("%s: %v", script, err)
		}
	})
}

// waitFile waits until path exists: the stage has opened it.
func waitFile(tb testing.TB, path string) {
	tb.Helper()
	e2etest.Eventually(tb, 10*time.Second, 5*time.Millisecond, func() (bool, string) {
		_, err := os.Stat(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			tb.Fatalf("waiting for %s: %v", path, err)
		}
		return err == nil, fmt.Sprintf("waiting for %s: %v", path, err)
	})
}

func TestSinksPipeline(t *testing.T) {
	tests := []struct {
		name   string
		script string
		onFD3  bool
		ready  []string
		want   []string
	}{
		{name: "tee", script: "tee dev.log >/dev/null", ready: []string{"dev.log"}, want: []string{"dev.log"}},
		{name: "tee -a", script: "tee -a dev.log >/dev/null", ready: []string{"dev.log"}, want: []string{"dev.log"}},
		{name: "redirected stage", script: "sed -u 's/^/> /' > dev.log", ready: []string{"dev.log"}, want: []string{"dev.log"}},
		{name: "two stages, both write", script: "tee a.log | cat > b.log", ready: []string{"a.log", "b.log"}, want: []string{"a.log", "b.log"}},
		{name: "second stage writes", script: "cat | tee dev.log >/dev/null", ready: []string{"dev.log"}, want: []string{"dev.log"}},
		{name: "three stages", script: "cat | cat | tee dev.log >/dev/null", ready: []string{"dev.log"}, want: []string{"dev.log"}},
		{
			// An editor running devloop as a job reads its output on some descriptor,
			// not as standard input, and saves files meanwhile: not a stage.
			name: "reader on another descriptor", onFD3: true,
			script: "exec 4>main.go; exec cat /dev/fd/3 >/dev/null",
			ready:  []string{"main.go"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w := stage(t, dir, tt.script, tt.onFD3, tt.ready...)
			got, pipes, err := outputSinks([]*os.File{w})
			if err != nil || !pipes {
				t.Fatalf("outputSinks() pipes = %v, err = %v, want true, nil", pipes, err)
			}
			var want []string
			for _, f := range tt.want {
				want = append(want, filepath.Join(dir, f))
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("outputSinks() = %v, want %v", got, want)
			}
		})
	}
}

func TestSinksDeletedFile(t *testing.T) {
	dir := t.TempDir()
	w := stage(t, dir, "tee gone.log >/dev/null", false, "gone.log")
	if err := os.Remove(filepath.Join(dir, "gone.log")); err != nil {
		t.Fatal(err)
	}
	if got, _, err := outputSinks([]*os.File{w}); len(got) != 0 || err != nil {
		t.Errorf("outputSinks() = %v, %v, want none: the file is deleted", got, err)
	}
}

func TestSinksRegularFile(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "up.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	got, pipes, err := outputSinks([]*os.File{f, null})
	if err != nil || pipes || !slices.Equal(got, []string{f.Name()}) {
		t.Errorf("outputSinks(up.log, /dev/null) = %v, pipes %v, err %v; want [%s], false, nil", got, pipes, err, f.Name())
	}
}

// TestOwnRescan: tee may open its file after devloop started; Own finds it by a
// rescan, at most one per Options.Rescan.
func TestOwnRescan(t *testing.T) {
	dir := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	d := New(Options{Outputs: []*os.File{w}, Rescan: time.Second})
	d.now = func() time.Time { return now }
	if got := d.Sinks(); len(got) != 0 {
		t.Fatalf("Sinks() before tee started = %v, want none", got)
	}

	startStage(t, r, w, dir, "tee dev.log >/dev/null", false)
	log := filepath.Join(dir, "dev.log")
	waitFile(t, log)

	now = now.Add(999 * time.Millisecond)
	if d.Own(log) {
		t.Errorf("Own(dev.log) %v after the last scan = true, want false (no rescan yet)", time.Second-time.Millisecond)
	}
	now = now.Add(time.Millisecond)
	if !d.Own(log) {
		t.Errorf("Own(dev.log) a rescan interval later = false, want true")
	}
	// By file identity: the same file through a symlinked directory.
	link := filepath.Join(t.TempDir(), "ctx")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if !d.Own(filepath.Join(link, "dev.log")) {
		t.Errorf("Own(dev.log through a symlink) = false, want true")
	}
	if d.Own(filepath.Join(dir, "main.go")) {
		t.Errorf("Own(main.go) = true, want false")
	}
}

// BenchmarkScan measures one scan for the sinks of a pipeline (`| tee dev.log`).
func BenchmarkScan(b *testing.B) {
	w := stage(b, b.TempDir(), "tee dev.log >/dev/null", false, "dev.log")
	for b.Loop() {
		if _, _, err := outputSinks([]*os.File{w}); err != nil {
			b.Fatal(err)
		}
	}
}
