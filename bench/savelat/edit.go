package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// editMode is how an edit reaches the disk.
type editMode string

const (
	// editRename writes a temporary file beside the target and renames it over the
	// target, the way JetBrains IDEs ("safe write"), vim with backupcopy=no and most
	// GUI editors save.
	editRename editMode = "rename"
	// editInPlace truncates the target and writes the new content into the same inode,
	// the way VS Code, Emacs and vim with backupcopy=yes save.
	editInPlace editMode = "in-place"
)

// editModes alternate over the edits of a run.
var editModes = []editMode{editRename, editInPlace}

// tempSuffix names the temporary file of a rename save (JetBrains' safe-write suffix).
const tempSuffix = "___jb_tmp___"

// writeFile saves content to path the way mode says. The file keeps its permissions.
func writeFile(path string, content []byte, mode editMode) error {
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	switch mode {
	case editRename:
		tmp := path + tempSuffix
		if err := os.WriteFile(tmp, content, perm); err != nil {
			return fmt.Errorf("save %s: write temporary file: %w", path, err)
		}
		if err := os.Chmod(tmp, perm); err != nil { // WriteFile's perm is masked by umask
			_ = os.Remove(tmp)
			return fmt.Errorf("save %s: %w", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("save %s: %w", path, err)
		}
		return nil
	case editInPlace:
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
		if err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
		if _, err := f.Write(content); err != nil {
			_ = f.Close()
			return fmt.Errorf("save %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
		return nil
	default:
		return fmt.Errorf("save %s: unknown edit mode %q", path, mode)
	}
}

// greetingFile is the file every edit changes, relative to the example's root.
var greetingFile = filepath.Join("internal", "greeting", "greeting.go")

var textConst = regexp.MustCompile(`(?m)^const Text = .*$`)

// withGreeting returns src (greeting.go) with the Text constant set to text.
func withGreeting(src []byte, text string) ([]byte, error) {
	if len(textConst.FindAllIndex(src, -1)) != 1 {
		return nil, fmt.Errorf("set greeting: want exactly one line %q in %s", "const Text = …", greetingFile)
	}
	return textConst.ReplaceAllLiteral(src, []byte("const Text = "+strconv.Quote(text))), nil
}
