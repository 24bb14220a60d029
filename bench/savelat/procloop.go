package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// procLoop is a reloader that runs as a process of its own (air, devloop up).
type procLoop struct {
	e      *loopEnv
	argv   []string
	config string // file name in the copy
	body   string // its content
	// isBusy, when set, tells from the output so far whether a build is under way.
	isBusy func([]logLine) bool
	grace  time.Duration
	c      *child
}

func (p *procLoop) start(context.Context) error {
	path := filepath.Join(p.e.dir, p.config)
	if err := os.WriteFile(path, []byte(p.body), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	c, err := startChild(p.e.dir, p.e.env, p.e.log, p.argv...)
	if err != nil {
		return err
	}
	p.c = c
	return nil
}

func (p *procLoop) busy() bool {
	return p.isBusy != nil && p.isBusy(p.e.log.since(0))
}

func (p *procLoop) stop() error {
	if p.c == nil {
		return nil
	}
	return p.c.stop(p.grace)
}

// airConfig is a minimal .air.toml: air's defaults (delay 1000 ms, include_ext go/tpl/
// tmpl/html, exclude_dir tmp …) except what this app needs to build and run.
func airConfig(addr string) string {
	return fmt.Sprintf(`# air v1.67.4 with its defaults; only the build command and binary are set.
[build]
cmd = "go build -o ./tmp/server ./cmd/server"
bin = "./tmp/server"
args_bin = ["--addr", %q]
`, addr)
}

// devloopOptions are what the benchmark's loops change in devloop.yaml.
type devloopOptions struct {
	serverOnly bool   // no client target
	frontend   string // builder.frontend, "" for the default
	debounce   string // watch.debounce, "" for the default
	written    bool   // dev_transform: false (the Dockerfile as written)
}

// devloopConfig is the devloop.yaml of the benchmark: the server target (run and
// probed), and the client unless o.serverOnly.
func devloopConfig(addr string, o devloopOptions) string {
	var b strings.Builder
	if o.frontend != "" {
		fmt.Fprintf(&b, "builder:\n  frontend: %s\n", o.frontend)
	}
	if o.written {
		b.WriteString("dev_transform: false\n")
	}
	fmt.Fprintf(&b, `targets:
  server:
    stage: server
    output: .
    run:
      command: [bin/server, --addr, %q]
      ready: http://%s/
`, addr, addr)
	if !o.serverOnly {
		b.WriteString(`  client:
    stage: client
    output: .
`)
	}
	b.WriteString(`watch:
  ignore: ["**/*.md"]
`)
	if o.debounce != "" {
		fmt.Fprintf(&b, "  debounce: %s\n", o.debounce)
	}
	return b.String()
}

// devloopBusy reports whether devloop has started a build it has not finished.
func devloopBusy(lines []logLine) bool {
	a := parseDevloop(lines)
	return a.Builds > len(a.Results)
}
