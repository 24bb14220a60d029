package main

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fsnotify/fsnotify"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    memStatus
		wantErr bool
	}{
		{"real shape", "Name:\twatchscale\nVmPeak:\t  900000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t5\n",
			memStatus{RSS: 10240 << 10, Peak: 20480 << 10}, false},
		{"missing VmHWM", "VmRSS:\t 1 kB\n", memStatus{RSS: 1 << 10}, true},
		{"bad unit", "VmRSS:\t 1 MB\nVmHWM:\t 1 kB\n", memStatus{}, true},
	}
	for _, tt := range tests {
		got, err := parseStatus(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("%s: parseStatus() = %+v, %v, want %+v, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseFdinfo(t *testing.T) {
	in := "pos:\t0\nflags:\t02004000\nmnt_id:\t15\nino:\t1057\n" +
		"inotify wd:2 ino:1a2b sdev:800021 mask:fc6 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:2b1a0000\n" +
		"inotify wd:1 ino:ff sdev:800021 mask:fc6 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:ff000000\n"
	got, err := parseFdinfo(bufio.NewScanner(strings.NewReader(in)))
	if err != nil {
		t.Fatalf("parseFdinfo() error = %v", err)
	}
	if want := []uint64{0x1a2b, 0xff}; !reflect.DeepEqual(got, want) {
		t.Errorf("parseFdinfo() = %v, want %v", got, want)
	}
}

// TestInotifyWatches checks the kernel's view against real watches: exactly the watched
// directories' inodes, as dirInodes reports them.
func TestInotifyWatches(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "a", "b")
	if err := os.MkdirAll(b, 0o755); err != nil {
		t.Fatal(err)
	}
	inodes, err := dirInodes(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(inodes) != 3 {
		t.Fatalf("dirInodes() = %v, want 3 directories", inodes)
	}
	before, err := inotifyWatches()
	if err != nil {
		t.Fatal(err)
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, d := range []string{a, b} {
		if err := w.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	after, err := inotifyWatches()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ino := range after {
		if !slices.Contains(before, ino) {
			got = append(got, inodes[ino])
		}
	}
	slices.Sort(got)
	if want := []string{a, b}; !reflect.DeepEqual(got, want) {
		t.Errorf("new inotify watches = %v, want %v", got, want)
	}
}
