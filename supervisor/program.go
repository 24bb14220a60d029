package supervisor

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"go.uber.org/zap"
)

// ExecFormatError is a start that failed because the program is not an executable for
// this machine: the kernel refused it with ENOEXEC ("exec format error") — a binary
// built for another platform, typically.
type ExecFormatError struct {
	// Program is the program's path, relative to the working directory when it lies
	// below it.
	Program string
	// Built says what the program is, as Options.DescribeExecutable tells ("Mach-O
	// executable for darwin/arm64"); "" when it cannot tell.
	Built string
	// Host is this machine's platform, GOOS/GOARCH.
	Host string
	Err  error
}

func (e *ExecFormatError) Error() string {
	if e.Built == "" {
		return fmt.Sprintf("%s cannot run on this %s machine: %v", e.Program, e.Host, e.Err)
	}
	return fmt.Sprintf("%s is %s %s and cannot run on this %s machine (%v)", e.Program, article(e.Built), e.Built, e.Host, e.Err)
}

func (e *ExecFormatError) Unwrap() error { return e.Err }

// article is the indefinite article for a description starting with a format name
// ("an ELF executable", "a Mach-O executable", "a PE executable").
func article(s string) string {
	if s != "" && strings.ContainsRune("AEIOUaeiou", rune(s[0])) {
		return "an"
	}
	return "a"
}

// execFormatError turns a start's error into an *ExecFormatError when the kernel
// refused the program's format, and returns other errors as they are.
func (s *Supervisor) execFormatError(path string, err error) error {
	if !errors.Is(err, errNoExec) {
		return err
	}
	e := &ExecFormatError{Program: path, Host: runtime.GOOS + "/" + runtime.GOARCH, Err: errNoExec}
	if rel, rerr := filepath.Rel(s.opts.Dir, path); rerr == nil && filepath.IsLocal(rel) {
		e.Program = filepath.ToSlash(rel)
	}
	if d := s.opts.DescribeExecutable; d != nil {
		if built, derr := d(path); derr == nil {
			e.Built = built
		} else {
			s.log.Debug("cannot tell what the program is", zap.String("path", path), zap.Error(derr))
		}
	}
	return e
}

// defaultPathExt is what Windows' PATHEXT lists when it is not set (as os/exec takes it).
const defaultPathExt = ".com;.exe;.bat;.cmd"

// withPathExt returns the file a program path names the way exec.LookPath finds it on
// Windows: the path itself when its name has an extension and exists, else the path
// with the first extension of pathext (PATHEXT, ";"-separated) that exists, so that
// bin/server finds bin/server.exe. When none exists it returns the path as given: a
// program exported without an extension still starts, and a missing one fails with
// its own name.
func withPathExt(path, pathext string, exists func(string) bool) string {
	if pathext == "" {
		pathext = defaultPathExt
	}
	if filepath.Ext(path) != "" && exists(path) {
		return path
	}
	for _, e := range strings.Split(strings.ToLower(pathext), ";") {
		if e == "" {
			continue
		}
		if e[0] != '.' {
			e = "." + e
		}
		if exists(path + e) {
			return path + e
		}
	}
	return path
}
