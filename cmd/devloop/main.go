// Command devloop rebuilds the binaries of a multi-stage Dockerfile with BuildKit on
// every save, swaps them atomically into ./bin and restarts the processes that run them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := &app{stdout: os.Stdout, stderr: os.Stderr, libraryLogs: redirectLibraryLogs}
	code := a.run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
