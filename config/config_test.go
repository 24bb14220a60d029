package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testDir is the project directory the tests resolve relative paths against.
const testDir = "/work/proj"

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "unknown top-level key",
			yaml: "targets: {server: }\ntarget: x\n",
			want: `devloop.yaml:2:1: target: unknown key (did you mean "targets"?)`,
		},
		{
			name: "unknown nested key",
			yaml: "context: .\nwatch:\n  debounce: 50ms\ntargets:\n  client: {}\n  server:\n    stag: server\n",
			want: `devloop.yaml:7:5: targets.server.stag: unknown key (did you mean "stage"?)`,
		},
		{
			name: "unknown key without a close match",
			yaml: "targets:\n  server:\n    run: {command: [x], frobnicate: 1}\n",
			want: `devloop.yaml:3:25: targets.server.run.frobnicate: unknown key`,
		},
		{
			name: "dev_transform not a boolean",
			yaml: "dev_transform: off\ntargets: {server: }\n",
			want: `devloop.yaml:1:16: dev_transform: must be true or false`,
		},
		{
			name: "target dev_transform misspelt",
			yaml: "targets:\n  server:\n    dev_transfrom: false\n",
			want: `devloop.yaml:3:5: targets.server.dev_transfrom: unknown key (did you mean "dev_transform"?)`,
		},
		{
			name: "missing targets",
			yaml: "watch:\n  debounce: 1s\n",
			want: `devloop.yaml:1:1: targets: missing required key; define at least one target`,
		},
		{
			name: "empty targets",
			yaml: "targets: {}\n",
			want: `devloop.yaml:1:1: targets: must define at least one target`,
		},
		{
			name: "null targets",
			yaml: "context: .\ntargets:\n",
			want: `devloop.yaml:2:1: targets: must define at least one target`,
		},
		{
			name: "targets not a mapping",
			yaml: "targets: [server]\n",
			want: `devloop.yaml:1:10: targets: must be a mapping`,
		},
		{
			name: "invalid target name",
			yaml: "targets:\n  -server: {}\n",
			want: `devloop.yaml:2:3: targets.-server: invalid target name: must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`,
		},
		{
			name: "bad duration",
			yaml: "targets: {a: }\nwatch:\n  debounce: 5x\n",
			want: `devloop.yaml:3:13: watch.debounce: invalid duration "5x": time: unknown unit "x" in duration "5x"`,
		},
		{
			name: "duration without unit",
			yaml: "targets: {a: }\nwatch: {max_wait: 50}\n",
			want: `devloop.yaml:2:19: watch.max_wait: invalid duration "50": time: missing unit in duration "50"`,
		},
		{
			name: "duration not a scalar",
			yaml: "targets: {a: }\nwatch: {debounce: [1s]}\n",
			want: `devloop.yaml:2:19: watch.debounce: must be a duration such as "50ms" or "2s"`,
		},
		{
			name: "negative debounce",
			yaml: "targets: {a: }\nwatch: {debounce: -1s}\n",
			want: `devloop.yaml:2:19: watch.debounce: must not be negative, got -1s`,
		},
		{
			name: "debounce too long",
			yaml: "targets: {a: }\nwatch: {debounce: 11s}\n",
			want: `devloop.yaml:2:19: watch.debounce: must be at most 10s, got 11s`,
		},
		{
			name: "max_wait below debounce",
			yaml: "targets: {a: }\nwatch: {debounce: 1s, max_wait: 500ms}\n",
			want: `devloop.yaml:2:33: watch.max_wait: must not be less than debounce (1s), got 500ms`,
		},
		{
			name: "bad frontend",
			yaml: "builder: {frontend: builtin}\ntargets: {a: }\n",
			want: `devloop.yaml:1:21: builder.frontend: must be "auto" or "image", got "builtin"`,
		},
		{
			name: "bad on_busy",
			yaml: "targets: {a: }\nwatch:\n  on_busy: wait\n",
			want: `devloop.yaml:3:12: watch.on_busy: must be "restart" or "queue", got "wait"`,
		},
		{
			name: "invalid ignore glob",
			yaml: "targets: {a: }\nwatch:\n  ignore: ['**/*.md', 'a[', '']\n",
			want: "devloop.yaml:3:23: watch.ignore[1]: invalid glob \"a[\"\n" +
				`devloop.yaml:3:29: watch.ignore[2]: must not be empty`,
		},
		{
			name: "bad signal",
			yaml: "targets:\n  a:\n    run:\n      command: [x]\n      stop_signal: SIGSTOP\n",
			want: `devloop.yaml:5:20: targets.a.run.stop_signal: unsupported signal "SIGSTOP": want one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGKILL, SIGUSR1, SIGUSR2`,
		},
		{
			name: "zero stop_timeout",
			yaml: "targets:\n  a:\n    run: {command: [x], stop_timeout: 0s}\n",
			want: `devloop.yaml:3:39: targets.a.run.stop_timeout: must be greater than 0, got 0s`,
		},
		{
			name: "command as a string",
			yaml: "targets:\n  server:\n    run:\n      command: bin/server --port 3000\n",
			want: `devloop.yaml:4:16: targets.server.run.command: must be a list, not a string: write ["bin/server", "--port", "3000"]`,
		},
		{
			name: "empty command",
			yaml: "targets:\n  server:\n    run:\n      command: []\n",
			want: `devloop.yaml:4:16: targets.server.run.command: must not be empty`,
		},
		{
			name: "empty program",
			yaml: "targets:\n  server:\n    run:\n      command: ['', x]\n",
			want: `devloop.yaml:4:17: targets.server.run.command[0]: must not be empty`,
		},
		{
			name: "missing command",
			yaml: "targets:\n  server:\n    run:\n      env: {A: b}\n",
			want: `devloop.yaml:3:5: targets.server.run: missing required key "command"`,
		},
		{
			name: "bad ready URL",
			yaml: "targets:\n  a:\n    run: {command: [x], ready: 'tcp://localhost'}\n",
			want: `devloop.yaml:3:32: targets.a.run.ready: invalid ready URL "tcp://localhost": tcp address must be host:port; want http://HOST[:PORT]/PATH, https://HOST[:PORT]/PATH or tcp://HOST:PORT`,
		},
		{
			name: "ready URL without a host",
			yaml: "targets:\n  a:\n    run: {command: [x], ready: 'tcp://:5432'}\n",
			want: `devloop.yaml:3:32: targets.a.run.ready: invalid ready URL "tcp://:5432": missing host; want http://HOST[:PORT]/PATH, https://HOST[:PORT]/PATH or tcp://HOST:PORT`,
		},
		{
			name: "ready URL with a port out of range",
			yaml: "targets:\n  a:\n    run: {command: [x], ready: 'http://localhost:99999/'}\n",
			want: `devloop.yaml:3:32: targets.a.run.ready: invalid ready URL "http://localhost:99999/": port "99999" is not a number from 0 to 65535; want http://HOST[:PORT]/PATH, https://HOST[:PORT]/PATH or tcp://HOST:PORT`,
		},
		{
			name: "signal by number",
			yaml: "targets:\n  a:\n    run:\n      command: [x]\n      stop_signal: '15'\n",
			want: `devloop.yaml:5:20: targets.a.run.stop_signal: unsupported signal "15": want one of SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGKILL, SIGUSR1, SIGUSR2`,
		},
		{
			name: "output escaping the project",
			yaml: "targets:\n  server:\n    output: ../bin\n",
			want: `devloop.yaml:3:13: targets.server.output: must be inside the project directory /work/proj`,
		},
		{
			name: "absolute output outside the project",
			yaml: "targets:\n  server:\n    output: /usr/local/bin\n",
			want: `devloop.yaml:3:13: targets.server.output: must be inside the project directory /work/proj`,
		},
		{
			name: "only: a glob",
			yaml: "targets:\n  server:\n    only: [go.mod, 'web/*.html']\n",
			want: `devloop.yaml:3:20: targets.server.only[1]: "web/*.html" is a glob: list the file or the directory that holds the files (everything below a directory is sent)`,
		},
		{
			name: "only: outside the context",
			yaml: "targets:\n  server:\n    only: [web/../../x]\n",
			want: `devloop.yaml:3:12: targets.server.only[0]: "web/../../x" is outside the build context`,
		},
		{
			name: "only: absolute",
			yaml: "targets:\n  server:\n    only: [/etc/app]\n",
			want: `devloop.yaml:3:12: targets.server.only[0]: "/etc/app" is absolute: write it relative to the build context`,
		},
		{
			name: "only: the whole context",
			yaml: "targets:\n  server:\n    only: [./]\n",
			want: `devloop.yaml:3:12: targets.server.only[0]: "./" is the whole build context: leave the key out instead`,
		},
		{
			name: "only: empty",
			yaml: "targets:\n  server:\n    only: []\n",
			want: `devloop.yaml:3:11: targets.server.only: must list at least one path; leave the key out to send the whole build context`,
		},
		{
			name: "only: a string",
			yaml: "targets:\n  server:\n    only: web\n",
			want: `devloop.yaml:3:11: targets.server.only: must be a list`,
		},
		{
			name: "empty stage",
			yaml: "targets:\n  server:\n    stage:\n",
			want: `devloop.yaml:3:5: targets.server.stage: must not be empty`,
		},
		{
			name: "number where a string is required",
			yaml: "targets:\n  server:\n    stage: 123\n",
			want: `devloop.yaml:3:12: targets.server.stage: must be a string; quote it: "123"`,
		},
		{
			name: "build arg not a scalar",
			yaml: "build_args:\n  X: [a]\ntargets: {a: }\n",
			want: `devloop.yaml:2:6: build_args.X: must be a string`,
		},
		{
			name: "build arg null",
			yaml: "build_args:\n  X:\ntargets: {a: }\n",
			want: `devloop.yaml:2:3: build_args.X: must be a string (write "" for an empty value)`,
		},
		{
			name: "build arg name with =",
			yaml: "build_args: {'A=B': c}\ntargets: {a: }\n",
			want: `devloop.yaml:1:14: build_args.A=B: invalid name "A=B": must be non-empty without spaces or "="`,
		},
		{
			name: "cache spec without type",
			yaml: "cache: {from: ['ref=example.com/app:cache']}\ntargets: {a: }\n",
			want: `devloop.yaml:1:16: cache.from[0]: cache spec "ref=example.com/app:cache" has no "type=", e.g. "type=registry,ref=registry.example.com/app:cache"`,
		},
		{
			// Checked with the solve's own parser (buildctl's), not a second one.
			name: "cache spec field without a value",
			yaml: "targets:\n  a:\n    cache: {to: ['type=local,dest']}\n",
			want: `devloop.yaml:3:18: targets.a.cache.to[0]: invalid cache spec "type=local,dest": invalid value dest`,
		},
		{
			name: "cache list as a string",
			yaml: "targets:\n  a:\n    cache: {to: type=local}\n",
			want: `devloop.yaml:3:17: targets.a.cache.to: must be a list`,
		},
		{
			name: "secret with file and env",
			yaml: "secrets:\n  token: {file: t, env: T}\ntargets: {a: }\n",
			want: `devloop.yaml:2:3: secrets.token: must set exactly one of file or env`,
		},
		{
			name: "secret with neither",
			yaml: "secrets:\n  token: {}\ntargets: {a: }\n",
			want: `devloop.yaml:2:3: secrets.token: must set exactly one of file or env`,
		},
		{
			name: "secret as a string",
			yaml: "secrets:\n  token: ~/.token\ntargets: {a: }\n",
			want: `devloop.yaml:2:10: secrets.token: must be a mapping`,
		},
		{
			name: "builder address",
			yaml: "builder: {address: 'http://localhost:1234'}\ntargets: {a: }\n",
			want: `devloop.yaml:1:20: builder.address: invalid builder address "http://localhost:1234": unsupported scheme "http": want unix://PATH, tcp://HOST:PORT, docker-container://NAME, kube-pod://NAME or docker://`,
		},
		{
			name: "builder address with a path",
			yaml: "builder: {address: 'tcp://localhost:1234/x'}\ntargets: {a: }\n",
			want: `devloop.yaml:1:20: builder.address: invalid builder address "tcp://localhost:1234/x": want tcp://HOST:PORT`,
		},
		{
			name: "output in the project's parent",
			yaml: "targets:\n  server:\n    output: ..\n",
			want: `devloop.yaml:3:13: targets.server.output: must be inside the project directory /work/proj`,
		},
		{
			name: "tls cert without key",
			yaml: "builder:\n  address: tcp://buildkitd:1234\n  tls: {cert: c.pem}\ntargets: {a: }\n",
			want: `devloop.yaml:3:3: builder.tls: cert and key must be set together`,
		},
		{
			name: "tls with a unix socket",
			yaml: "builder:\n  address: unix:///run/buildkit/buildkitd.sock\n  tls: {ca: ca.pem}\ntargets: {a: }\n",
			want: `devloop.yaml:3:3: builder.tls: only supported with a tcp:// address, got "unix:///run/buildkit/buildkitd.sock"`,
		},
		{
			name: "yes is not a boolean",
			yaml: "builder: {insecure: yes}\ntargets: {a: }\n",
			want: `devloop.yaml:1:21: builder.insecure: must be true or false`,
		},
		{
			name: "duplicate key",
			yaml: "targets:\n  a: {}\n  b: {}\n  a: {}\n",
			want: `devloop.yaml:4:3: targets.a: duplicate key (first defined at line 2)`,
		},
		{
			name: "merge cycle",
			yaml: "targets:\n  a: &a\n    <<: *a\n",
			want: `devloop.yaml:3:5: targets.a: merge key refers to its own mapping`,
		},
		{
			name: "key with a newline is quoted",
			yaml: "targets: {a: }\n\"x\\ny\": 1\n",
			want: `devloop.yaml:2:1: "x\ny": unknown key`,
		},
		{
			name: "yaml syntax error",
			yaml: "targets:\n  a: {}\nwatch\n  debounce: 1s\n",
			want: `devloop.yaml:3: invalid YAML: could not find expected ':'`,
		},
		{
			name: "tab indentation",
			yaml: "targets:\n\ta: {}\n",
			want: `devloop.yaml:2: invalid YAML: found character that cannot start any token`,
		},
		{
			name: "empty file",
			yaml: "",
			want: `devloop.yaml: file is empty; define at least one target under "targets"`,
		},
		{
			name: "only comments",
			yaml: "# nothing yet\n",
			want: `devloop.yaml: file is empty; define at least one target under "targets"`,
		},
		{
			name: "top level not a mapping",
			yaml: "- targets\n",
			want: `devloop.yaml:1:1: the top level must be a mapping`,
		},
		{
			name: "multiple documents",
			yaml: "targets: {a: }\n---\ntargets: {b: }\n",
			want: `devloop.yaml:3:1: multiple YAML documents are not supported`,
		},
		{
			name: "multiple errors reported together in file order",
			yaml: "targets:\n  server:\n    stag: x\n    run:\n      command: bin/server\n      stop_timeout: 5x\n    output: ../out\nwatch:\n  on_busy: wait\n",
			want: "devloop.yaml:3:5: targets.server.stag: unknown key (did you mean \"stage\"?)\n" +
				"devloop.yaml:5:16: targets.server.run.command: must be a list, not a string: write [\"bin/server\"]\n" +
				"devloop.yaml:6:21: targets.server.run.stop_timeout: invalid duration \"5x\": time: unknown unit \"x\" in duration \"5x\"\n" +
				"devloop.yaml:7:13: targets.server.output: must be inside the project directory /work/proj\n" +
				"devloop.yaml:9:12: watch.on_busy: must be \"restart\" or \"queue\", got \"wait\"",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("devloop.yaml", []byte(tt.yaml), testDir, testGrammars)
			if err == nil {
				t.Fatalf("Parse() = %+v, nil; want error %q", c, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse() error =\n%s\nwant\n%s", got, tt.want)
			}
			if c != nil {
				t.Errorf("Parse() config = %+v, want nil on error", c)
			}
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Errorf("Parse() error is %T, want non-empty Errors", err)
			}
		})
	}
}

func TestParseDefaults(t *testing.T) {
	c, err := Parse("devloop.yaml", []byte("targets:\n  server:\n    run:\n      command: [bin/server]\n  client:\n"), testDir, testGrammars)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	want := &Config{
		File:       "devloop.yaml",
		Dir:        testDir,
		Builder:    Builder{Frontend: FrontendAuto},
		Context:    testDir,
		Dockerfile: testDir + "/Dockerfile",
		BuildArgs:  map[string]string{},
		Secrets:    map[string]Secret{},
		Targets: map[string]*Target{
			"server": {
				Name: "server", Stage: "server", Output: testDir + "/bin", BuildArgs: map[string]string{},
				Run: &Run{
					Command: []string{"bin/server"}, Env: map[string]string{}, Dir: testDir,
					StopSignal: "SIGTERM", StopTimeout: 5 * time.Second,
				},
				DevTransform: true,
				Platforms:    []string{LocalPlatform()}, // it runs here
			},
			"client": {Name: "client", Stage: "client", Output: testDir + "/bin", BuildArgs: map[string]string{}, DevTransform: true},
		},
		Watch:        Watch{Debounce: 20 * time.Millisecond, MaxWait: 2 * time.Second, OnBusy: DefaultOnBusy},
		DevTransform: true,
	}
	c.pos = nil // positions: see TestErrorAt and TestLine
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse() =\n%s\nwant\n%s", dump(c), dump(want))
	}
}

func TestParseValues(t *testing.T) {
	t.Setenv("HOME", "/home/dev")
	const full = `
builder:
  address: tcp://buildkitd:1234
  tls: {ca: certs/ca.pem, cert: ~/certs/cert.pem, key: /etc/key.pem, server_name: buildkitd}
  insecure: true
  frontend: image
context: src
dockerfile: build/Dockerfile.dev
build_args:
  APP_VERSION: dev
  CGO_ENABLED: 0
  DEBUG: true
  RATIO: 1.50
  EMPTY: ""
cache:
  from: ["type=local,src=.cache"]
  to: ["type=local,dest=.cache,mode=max"]
dev_transform: false
secrets:
  npmrc: {file: ~/.npmrc}
  token: {env: GITHUB_TOKEN}
  local: {file: secrets/key}
targets:
  server:
    stage: build-server
    output: .
    build_args: {APP_VERSION: "1.2", GOARCH: amd64}
    cache: {to: []}
    run:
      command: [bin/server, --port, 3000]
      env: {LOG_LEVEL: debug, PORT: 3000}
      dir: run
      stop_signal: int
      stop_timeout: 1m30s
      ready: http://127.0.0.1:3000/healthz
  client:
    cache: {from: ["type=registry,ref=example.com/client:cache"]}
    dev_transform: true
    only: [./web/dist/, package.json]
watch:
  ignore: ["**/*.md", "docs/**"]
  debounce: 3s
  on_busy: restart
`
	c, err := Parse("devloop.yaml", []byte(full), testDir, testGrammars)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	server, client := c.Targets["server"], c.Targets["client"]
	tests := []struct {
		name      string
		got, want any
	}{
		{"builder", c.Builder, Builder{
			Address:  "tcp://buildkitd:1234",
			TLS:      &TLS{CA: testDir + "/certs/ca.pem", Cert: "/home/dev/certs/cert.pem", Key: "/etc/key.pem", ServerName: "buildkitd"},
			Insecure: true,
			Frontend: FrontendImage,
		}},
		{"context", c.Context, testDir + "/src"},
		{"dockerfile relative to context", c.Dockerfile, testDir + "/src/build/Dockerfile.dev"},
		{"scalar build args kept literally", c.BuildArgs, map[string]string{
			"APP_VERSION": "dev", "CGO_ENABLED": "0", "DEBUG": "true", "RATIO": "1.50", "EMPTY": "",
		}},
		{"project cache", c.Cache, Cache{From: []string{"type=local,src=.cache"}, To: []string{"type=local,dest=.cache,mode=max"}}},
		{"secrets", c.Secrets, map[string]Secret{
			"npmrc": {File: "/home/dev/.npmrc"},
			"token": {Env: "GITHUB_TOKEN"},
			"local": {File: testDir + "/secrets/key"},
		}},
		{"stage", server.Stage, "build-server"},
		{"output", server.Output, testDir},
		{"build args merged", server.BuildArgs, map[string]string{
			"APP_VERSION": "1.2", "CGO_ENABLED": "0", "DEBUG": "true", "RATIO": "1.50", "EMPTY": "", "GOARCH": "amd64",
		}},
		{"target without build args gets the project's", client.BuildArgs, c.BuildArgs},
		{"target cache overrides per list", server.Cache, Cache{From: []string{"type=local,src=.cache"}, To: nil}},
		{"target cache from", client.Cache, Cache{From: []string{"type=registry,ref=example.com/client:cache"}, To: []string{"type=local,dest=.cache,mode=max"}}},
		{"run", server.Run, &Run{
			Command:     []string{"bin/server", "--port", "3000"},
			Env:         map[string]string{"LOG_LEVEL": "debug", "PORT": "3000"},
			Dir:         testDir + "/run",
			StopSignal:  "SIGINT",
			StopTimeout: 90 * time.Second,
			Ready:       "http://127.0.0.1:3000/healthz",
		}},
		{"no run", client.Run, (*Run)(nil)},
		{"project dev_transform", c.DevTransform, false},
		{"target inherits dev_transform", server.DevTransform, false},
		{"target sets dev_transform", client.DevTransform, true},
		{"only, clean", client.Only, []string{"web/dist", "package.json"}},
		{"no only", server.Only, []string(nil)},
		{"watch; max_wait follows a longer debounce", c.Watch, Watch{
			Ignore: []string{"**/*.md", "docs/**"}, Debounce: 3 * time.Second, MaxWait: 3 * time.Second, OnBusy: OnBusyRestart,
		}},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %s, want %s", tt.name, dump(tt.got), dump(tt.want))
		}
	}
}

func TestParseNormalizesSignals(t *testing.T) {
	tests := []struct{ in, want string }{
		{"SIGTERM", "SIGTERM"},
		{"term", "SIGTERM"},
		{"SigInt", "SIGINT"},
		{"QUIT", "SIGQUIT"},
		{"sighup", "SIGHUP"},
		{"KILL", "SIGKILL"},
		{"usr1", "SIGUSR1"},
		{"SIGUSR2", "SIGUSR2"},
	}
	for _, tt := range tests {
		data := "targets:\n  a:\n    run: {command: [x], stop_signal: " + tt.in + "}\n"
		c, err := Parse("devloop.yaml", []byte(data), testDir, testGrammars)
		if err != nil {
			t.Errorf("Parse(stop_signal: %s) error = %v", tt.in, err)
			continue
		}
		if got := c.Targets["a"].Run.StopSignal; got != tt.want {
			t.Errorf("Parse(stop_signal: %s) StopSignal = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAliasesAndMergeKeys(t *testing.T) {
	const data = `
build_args: &args {A: "1"}
targets:
  server: &server
    stage: s
    build_args: *args
    run:
      command: [bin/server]
      env: &env {X: "1"}
  worker:
    <<: *server
    stage: w
    run:
      <<: [{command: [bin/worker]}, {command: [ignored], dir: work}]
      env: *env
`
	c, err := Parse("devloop.yaml", []byte(data), testDir, testGrammars)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	w := c.Targets["worker"]
	tests := []struct {
		name      string
		got, want any
	}{
		{"explicit key beats merged", w.Stage, "w"},
		{"merged key", w.BuildArgs, map[string]string{"A": "1"}},
		{"first merge source wins", w.Run.Command, []string{"bin/worker"}},
		{"later merge source fills gaps", w.Run.Dir, testDir + "/work"},
		{"alias", w.Run.Env, map[string]string{"X": "1"}},
		{"anchored target", c.Targets["server"].Stage, "s"},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %s, want %s", tt.name, dump(tt.got), dump(tt.want))
		}
	}
}

func TestParseRelativeDir(t *testing.T) {
	c, err := Parse("devloop.yaml", []byte("targets: {a: }\n"), "proj", testGrammars)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(wd, "proj"); c.Dir != want {
		t.Errorf("Parse() Dir = %q, want %q", c.Dir, want)
	}
}

// A directory whose name merely starts with ".." is inside the project.
func TestParseOutputInDotDotNamedDir(t *testing.T) {
	c, err := Parse("devloop.yaml", []byte("targets: {a: {output: ..cache/bin}}\n"), testDir, testGrammars)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	if got, want := c.Targets["a"].Output, filepath.Join(testDir, "..cache", "bin"); got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

// Parse refuses to run without the owners' parsers rather than accept any value.
func TestParseNeedsGrammars(t *testing.T) {
	g := testGrammars
	g.Ready = nil
	if _, err := Parse("devloop.yaml", []byte("targets: {a: }\n"), testDir, g); err == nil || !strings.Contains(err.Error(), "Grammars") {
		t.Errorf("Parse() without Grammars.Ready: error = %v, want one naming Grammars", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "devloop.yaml")
	if err := os.WriteFile(path, []byte("targets:\n  server:\n    output: out\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("targets:\n  server:\n    outptu: out\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	c, err := Load(path, testGrammars)
	if err != nil {
		t.Fatalf("Load(%q) error = %v", path, err)
	}
	if c.File != path || c.Dir != dir {
		t.Errorf("Load(%q) File, Dir = %q, %q, want %q, %q", path, c.File, c.Dir, path, dir)
	}
	if got, want := c.Targets["server"].Output, filepath.Join(dir, "out"); got != want {
		t.Errorf("Load(%q) output = %q, want %q", path, got, want)
	}

	_, err = Load(bad, testGrammars)
	if want := bad + `:3:5: targets.server.outptu: unknown key (did you mean "output"?)`; err == nil || err.Error() != want {
		t.Errorf("Load(%q) error = %v, want %s", bad, err, want)
	}

	missing := filepath.Join(dir, "missing.yaml")
	_, err = Load(missing, testGrammars)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(%q) error = %v, want fs.ErrNotExist", missing, err)
	}
	if want := "load config: open " + missing + ": "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load(%q) error = %q, want prefix %q", missing, err, want)
	}
}

func TestLoadRelativePath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "devloop.yaml"), []byte("targets:\n  a:\n    stage: ''\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	_, err := Load("devloop.yaml", testGrammars)
	if want := "devloop.yaml:3:12: targets.a.stage: must not be empty"; err == nil || err.Error() != want {
		t.Errorf("Load(devloop.yaml) error = %v, want %s", err, want)
	}
}

func TestSelect(t *testing.T) {
	c, err := Parse("devloop.yaml", []byte("targets: {server: , client: , worker: }\n"), testDir, testGrammars)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	tests := []struct {
		name    string
		names   []string
		want    []string
		wantErr string
	}{
		{name: "nil selects all, sorted", names: nil, want: []string{"client", "server", "worker"}},
		{name: "empty selects all", names: []string{}, want: []string{"client", "server", "worker"}},
		{name: "given order, no duplicates", names: []string{"worker", "client", "worker"}, want: []string{"worker", "client"}},
		{
			name:    "unknown with suggestion",
			names:   []string{"server", "sever"},
			wantErr: `select targets: unknown target "sever" (did you mean "server"?); configured targets in devloop.yaml: client, server, worker`,
		},
		{
			name:    "several unknown",
			names:   []string{"db", "web"},
			wantErr: `select targets: unknown target "db"; unknown target "web"; configured targets in devloop.yaml: client, server, worker`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := c.Select(tt.names)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("Select(%q) error = %v, want %s", tt.names, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Select(%q) error = %v", tt.names, err)
			}
			var got []string
			for _, t := range ts {
				got = append(got, t.Name)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Select(%q) = %q, want %q", tt.names, got, tt.want)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{Error{File: "d.yaml", Line: 3, Col: 7, Field: "a.b", Msg: "bad"}, "d.yaml:3:7: a.b: bad"},
		{Error{File: "d.yaml", Line: 3, Msg: "bad"}, "d.yaml:3: bad"},
		{Error{File: "d.yaml", Msg: "empty"}, "d.yaml: empty"},
		{Errors{{File: "f", Line: 1, Col: 1, Msg: "x"}, {File: "f", Line: 2, Col: 1, Field: "y", Msg: "z"}}, "f:1:1: x\nf:2:1: y: z"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%#v.Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	candidates := []string{"context", "dockerfile", "targets", "watch"}
	tests := []struct{ in, want string }{
		{"target", "targets"},
		{"Targets", "targets"},
		{"contxet", "context"},
		{"dockerfiel", "dockerfile"},
		{"wach", "watch"},
		{"x", ""},
		{"builds", ""},
	}
	for _, tt := range tests {
		if got := suggest(tt.in, candidates); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// dump formats v for failure messages, following pointers.
func dump(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

// TestErrorAt: problems found after parsing carry the position of the value they are
// about, or of the nearest enclosing key the file sets when the value is a default.
func TestErrorAt(t *testing.T) {
	const src = `build_args: {APP: dev}
cache:
  from:
    - type=local,src=/tmp/a
    - type=local,src=/tmp/b
secrets:
  token: {file: token.txt}
targets:
  server:
    stage: no-such-stage
    output: .
  client:
    output: out
builder:
  tls: {ca: ca.pem}
`
	c, err := Parse("devloop.yaml", []byte(src), testDir, testGrammars)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	tests := []struct {
		field string
		set   bool
		want  string
	}{
		{"targets.server.stage", true, `devloop.yaml:10:12: targets.server.stage: boom`},
		{"targets.client.stage", false, `devloop.yaml:12:3: targets.client.stage: boom`},
		{"targets.client.output", true, `devloop.yaml:13:13: targets.client.output: boom`},
		{"targets.server.output", true, `devloop.yaml:11:13: targets.server.output: boom`},
		{"cache.from[1]", true, `devloop.yaml:5:7: cache.from[1]: boom`},
		{"cache.to", false, `devloop.yaml:2:1: cache.to: boom`},
		{"secrets.token.file", true, `devloop.yaml:7:17: secrets.token.file: boom`},
		{"builder.tls.ca", true, `devloop.yaml:15:13: builder.tls.ca: boom`},
		{"builder.tls.cert", false, `devloop.yaml:15:3: builder.tls.cert: boom`},
		{"dockerfile", false, `devloop.yaml:1:1: dockerfile: boom`},
		{"build_args.APP", true, `devloop.yaml:1:19: build_args.APP: boom`},
	}
	for _, tt := range tests {
		if got := c.Set(tt.field); got != tt.set {
			t.Errorf("Set(%q) = %v, want %v", tt.field, got, tt.set)
		}
		e := c.ErrorAt(tt.field, "%s", "boom")
		if got := e.Error(); got != tt.want {
			t.Errorf("ErrorAt(%q) = %q, want %q", tt.field, got, tt.want)
		}
		if e.Field != tt.field || e.File != "devloop.yaml" {
			t.Errorf("ErrorAt(%q) = %+v, want Field %q and File devloop.yaml", tt.field, e, tt.field)
		}
	}
	var none Config
	if got := none.ErrorAt("targets.x.stage", "boom").Error(); got != ": targets.x.stage: boom" {
		t.Errorf("ErrorAt on a Config without positions = %q", got)
	}
}

// TestErrorAtMergeKeys: a value that comes in through a merge key or an alias is
// reported where it is written.
func TestErrorAtMergeKeys(t *testing.T) {
	src := "targets:\n  server: &s\n    stage: build\n    output: .\n  client:\n    <<: *s\n    output: out\n"
	c, err := Parse("devloop.yaml", []byte(src), testDir, testGrammars)
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	for field, want := range map[string]string{
		"targets.client.stage":  "devloop.yaml:3:12: targets.client.stage: boom",
		"targets.client.output": "devloop.yaml:7:13: targets.client.output: boom",
		"targets.server.stage":  "devloop.yaml:3:12: targets.server.stage: boom",
	} {
		if got := c.ErrorAt(field, "boom").Error(); got != want {
			t.Errorf("ErrorAt(%q) = %q, want %q", field, got, want)
		}
	}
}
