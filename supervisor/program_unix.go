//go:build unix

package supervisor

import "syscall"

// errNoExec is the error of starting a file that is no executable for this machine.
var errNoExec error = syscall.ENOEXEC

// programPath is the file a program path names: the path itself (Windows adds
// PATHEXT's extensions).
func programPath(path string) string { return path }
