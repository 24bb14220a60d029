package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const greetingSrc = `// Package greeting builds the text the server answers with.
package greeting

// Text is the greeting the server sends.
const Text = "hello from greeter"
`

func TestWithGreeting(t *testing.T) {
	tests := []struct {
		name, src, text, want string
		wantErr               bool
	}{
		{name: "plain", src: greetingSrc, text: "floor edit 3 0a1b2c3d",
			want: strings.Replace(greetingSrc, `"hello from greeter"`, `"floor edit 3 0a1b2c3d"`, 1)},
		{name: "quotes are escaped", src: greetingSrc, text: `say "hi"`,
			want: strings.Replace(greetingSrc, `"hello from greeter"`, `"say \"hi\""`, 1)},
		{name: "no constant", src: "package greeting\n", text: "x", wantErr: true},
		{name: "two constants", src: greetingSrc + "const Text = \"again\"\n", text: "x", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withGreeting([]byte(tt.src), tt.text)
			if (err != nil) != tt.wantErr {
				t.Fatalf("withGreeting() error = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && string(got) != tt.want {
				t.Errorf("withGreeting() = %q, want %q", got, tt.want)
			}
		})
	}
}

func stat(t *testing.T, path string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

func TestWriteFile(t *testing.T) {
	tests := []struct {
		mode      editMode
		sameInode bool
	}{
		{editRename, false},
		{editInPlace, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "greeting.go")
			// A longer old content shows that in-place saves truncate.
			if err := os.WriteFile(path, []byte(greetingSrc+"// trailing comment that must go\n"), 0o640); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o640); err != nil {
				t.Fatal(err)
			}
			before := stat(t, path)
			want, err := withGreeting([]byte(greetingSrc), "new text")
			if err != nil {
				t.Fatal(err)
			}
			if err := writeFile(path, want, tt.mode); err != nil {
				t.Fatalf("writeFile(%s) error = %v", tt.mode, err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("content after writeFile(%s) = %q, want %q", tt.mode, got, want)
			}
			if same := os.SameFile(stat(t, path), before); same != tt.sameInode {
				t.Errorf("writeFile(%s) kept the inode = %v, want %v", tt.mode, same, tt.sameInode)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o640 {
				t.Errorf("mode after writeFile(%s) = %v, want %v", tt.mode, got, os.FileMode(0o640))
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("files after writeFile(%s) = %d (%v), want 1: no temporary file left", tt.mode, len(entries), entries)
			}
		})
	}
}

func TestWriteFileUnknownMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := writeFile(path, []byte("x"), "append"); err == nil {
		t.Errorf("writeFile(mode %q) error = nil, want an error", "append")
	}
}
