package supervisor

import (
	"os"
	"syscall"
)

// errNoExec is the error of starting a file that is no executable for this machine:
// ERROR_BAD_EXE_FORMAT.
var errNoExec error = syscall.Errno(193)

// programPath is the file a program path names: with PATHEXT's extensions, as
// exec.LookPath does (bin/server finds bin/server.exe).
func programPath(path string) string {
	return withPathExt(path, os.Getenv("PATHEXT"), func(p string) bool {
		fi, err := os.Stat(p)
		return err == nil && fi.Mode().IsRegular()
	})
}
