package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/devloop/devloop/config"
	"github.com/devloop/devloop/internal/ospath"
	"github.com/devloop/devloop/rebuild"
	"github.com/devloop/devloop/report"
	"github.com/devloop/devloop/supervisor"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zapio"
	"golang.org/x/term"
	"google.golang.org/grpc/grpclog"
)

// Exit codes of devloop (documented in the README).
const (
	exitOK          = 0
	exitBuildFailed = 1
	exitUsage       = 2
	exitUnreachable = 3
)

// exitError carries an exit code up to run.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// app holds what every command shares: global flags, the output streams, the logger.
type app struct {
	file     string
	addr     string
	logLevel string
	events   string

	stdout, stderr io.Writer
	log            *zap.Logger

	// libraryLogs, when set, sends what libraries log on their own to the logger
	// (see redirectLibraryLogs); it returns a function that undoes it. Only main sets
	// it: the loggers it replaces are process-wide.
	libraryLogs        func(*zap.Logger) (restore func())
	restoreLibraryLogs func()
}

// run runs devloop with args; in-process tests use it. main uses app.run, which can
// also redirect library logs.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return (&app{stdout: stdout, stderr: stderr}).run(ctx, args)
}

func (a *app) run(ctx context.Context, args []string) int {
	stdout, stderr := a.stdout, a.stderr
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if a.restoreLibraryLogs != nil {
		a.restoreLibraryLogs()
	}
	if a.log != nil {
		_ = a.log.Sync()
	}
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != errSilent {
			fmt.Fprintf(stderr, "devloop: %v\n", ee.err)
		}
		return ee.code
	}
	// Anything cobra itself rejected (unknown flag, bad arguments) is a usage error.
	fmt.Fprintf(stderr, "devloop: %v\n", err)
	return exitUsage
}

// errSilent is an error whose details were already printed.
var errSilent = errors.New("silent")

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "devloop",
		Short: "Rebuild Dockerfile targets with BuildKit on every save and hot-swap the binaries",
		Long: `devloop closes the edit → build → run loop for projects that build their binaries
with a multi-stage Dockerfile and BuildKit (docker build --output=bin --target=binaries).

It watches the build context, rebuilds the targets configured in devloop.yaml through a
BuildKit daemon, exports them into a staging directory, swaps them atomically into place
and restarts the processes that run them.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(a.stderr, a.logLevel)
			if err != nil {
				return withCode(exitUsage, err)
			}
			a.log = log
			if a.libraryLogs != nil {
				a.restoreLibraryLogs = a.libraryLogs(log)
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&a.file, "file", "f", "devloop.yaml", "path of the devloop.yaml to use")
	pf.StringVar(&a.addr, "addr", "", "BuildKit daemon address (overrides builder.address and $BUILDKIT_HOST)")
	pf.StringVar(&a.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	pf.StringVar(&a.events, "events", "", "write the NDJSON event stream (docs/events.md) to FILE; \"-\" is stdout, and human output then goes to stderr")
	root.AddCommand(a.buildCommand(), a.upCommand(), a.versionCommand(), a.initCommand(), a.explainCommand(), a.builderCommand())
	return root
}

func newLogger(w io.Writer, level string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	if lvl > zapcore.DebugLevel {
		// Among the status lines on a terminal, in their format (report.NewLogCore).
		return zap.New(report.NewLogCore(w, lvl)), nil
	}
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = ""
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(w), lvl)
	return zap.New(core), nil
}

// redirectLibraryLogs sends what BuildKit's client and the libraries under it log on
// their own to log at debug level, where --log-level debug shows it; otherwise their
// lines reach the terminal unprefixed, e.g. while builds are cancelled:
//
//	http2: server connection error from localhost: connection error: PROTOCOL_ERROR
//	http2: server: error reading preface from client localhost: rpc error: code = Internal desc = SendMsg called after CloseSend
//
// Those come from the HTTP/2 server (golang.org/x/net/http2) that serves the BuildKit
// session's gRPC services over the hijacked session stream (buildkit session/grpc.go:
// http2.Server.ServeConn without an ErrorLog, so it uses the standard log package).
// gRPC's own logger (grpclog, errors to stderr by default) and logrus's standard logger
// (BuildKit's bklog) write to stderr the same way. All three are process-wide, so only
// main replaces them (app.libraryLogs), once, before anything runs; in-process tests
// and the packages never touch them. restore puts the previous standard-log and logrus
// outputs back (grpclog has no getter: its replacement stays, writing to the logger).
func redirectLibraryLogs(log *zap.Logger) (restore func()) {
	lib := log.Named("lib")
	w := &zapio.Writer{Log: lib, Level: zapcore.DebugLevel}
	undoStd, err := zap.RedirectStdLogAt(lib.Named("http2"), zapcore.DebugLevel)
	if err != nil { // only for a level above error
		undoStd = func() {}
	}
	// gRPC's info lines (every connectivity change) stay discarded, as by default;
	// its warnings and errors go to the debug log, once each.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, &zapio.Writer{Log: lib.Named("grpc"), Level: zapcore.DebugLevel}, io.Discard))
	prevLogrus := logrus.StandardLogger().Out
	logrus.SetOutput(w)
	return func() {
		undoStd()
		logrus.SetOutput(prevLogrus)
		_ = w.Close()
	}
}

// human is where status lines go: stdout, unless the event stream took it.
func (a *app) human() io.Writer {
	if a.events == "-" {
		return a.stderr
	}
	return a.stdout
}

// openEvents opens the --events destination; close must be called when done.
func (a *app) openEvents() (w io.Writer, close func(), err error) {
	switch a.events {
	case "":
		return nil, func() {}, nil
	case "-":
		return a.stdout, func() {}, nil
	}
	f, err := os.OpenFile(a.events, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, withCode(exitUsage, fmt.Errorf("--events: %w", err))
	}
	return f, func() { _ = f.Close() }, nil
}

// configGrammars are the parsers devloop.yaml's values are checked with: those of the
// packages that use the values.
func configGrammars() config.Grammars {
	return config.Grammars{
		CacheSpec: rebuild.CheckCacheSpec,
		Address:   rebuild.CheckAddress,
		Ready:     supervisor.CheckReady,
		Signal:    supervisor.ParseSignal,
	}
}

// loadConfig reads devloop.yaml; problems are usage errors (exit 2).
func (a *app) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(a.file, configGrammars())
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	return cfg, nil
}

// loadConfigOptional reads devloop.yaml if there is one; commands that can work
// without it (version) get an empty config.
func (a *app) loadConfigOptional() (*config.Config, error) {
	if _, err := os.Stat(a.file); err != nil {
		return &config.Config{}, nil
	}
	return a.loadConfig()
}

// relToCwd shows path relative to the working directory when it is below it.
func relToCwd(path string) string { return ospath.DisplayCwd(path) }

// isTerminal reports whether w is a terminal (colours and redrawing displays only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
