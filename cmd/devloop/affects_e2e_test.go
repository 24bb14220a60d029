//go:build e2e && unix

package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// The end-to-end tests of "only affected targets": two targets share
// internal/shared; the client imports it always, the server only in the
// configuration its Dockerfile builds with. An edit of internal/shared must reach
// the server's binary, and an edit of the client alone must still skip the server.

var reStartedLine = regexp.MustCompile(`^\[devloop\] build started #(\d+): (.*)$`)

// affectsFiles is the project every case starts from. The server prints (or, with
// --addr, serves) msg, which only the files a case adds set from internal/shared.
func affectsFiles() map[string]string {
	return map[string]string{
		"go.mod":                    "module example.com/aff\n\ngo 1.26\n",
		"internal/shared/shared.go": sharedSource("shared v1"),
		"cmd/client/main.go":        clientSource("client v1"),
		"cmd/server/main.go": `package main

import (
	"fmt"
	"net/http"
	"os"
)

var msg = "no shared"

func main() {
	if len(os.Args) == 3 && os.Args[1] == "--addr" {
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, msg) })
		if err := http.ListenAndServe(os.Args[2], nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	fmt.Println(msg)
}
`,
	}
}

// affectsYAML is the cases' devloop.yaml: build args (a YAML flow map, or ""), and
// the server target's run section (or "").
func affectsYAML(buildArgs, serverRun string) string {
	yaml := "targets:\n  server:\n    stage: server\n    output: ." + serverRun + "\n  client:\n    stage: client\n    output: .\nwatch:\n  debounce: 50ms\n  on_busy: queue\n"
	if buildArgs != "" {
		yaml = "build_args: " + buildArgs + "\n" + yaml
	}
	return yaml
}

func sharedSource(text string) string {
	return fmt.Sprintf("package shared\n\n// Text is what both binaries use.\nconst Text = %q\n", text)
}

func clientSource(text string) string {
	return fmt.Sprintf("package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/aff/internal/shared\"\n)\n\nfunc main() { fmt.Println(%q, shared.Text) }\n", text)
}

// serverUses is a server file that sets msg from internal/shared, compiled only
// where constraint (a //go:build line, or "") holds.
func serverUses(constraint string) string {
	head := ""
	if constraint != "" {
		head = "//go:build " + constraint + "\n\n"
	}
	return head + "package main\n\nimport \"example.com/aff/internal/shared\"\n\nfunc init() { msg = shared.Text }\n"
}

// affectsDockerfile builds the client plainly and the server with serverBuild, the
// lines of its build stage after FROM base.
func affectsDockerfile(base, serverBuild string) string {
	return `FROM golang:1.26-alpine AS base
WORKDIR /src
` + base + `

FROM base AS build-server
` + serverBuild + `

FROM base AS build-client
RUN --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    CGO_ENABLED=0 go build -o /bin/client ./cmd/client

FROM scratch AS server
COPY --from=build-server /bin/server /bin/

FROM scratch AS client
COPY --from=build-client /bin/client /bin/
`
}

const cacheAndBind = "RUN --mount=type=cache,target=/root/.cache/go-build --mount=type=bind,target=. \\\n    "

// affectsCase is one configuration of the server's build.
type affectsCase struct {
	name       string
	dockerfile string
	files      map[string]string // added to affectsFiles
	buildArgs  string            // YAML flow map for build_args, or ""
	env        map[string]string // devloop's own environment (a darwin host, say)
	// edit is the file whose change must reach the server (default
	// internal/shared/shared.go), and want what the server prints before and after.
	edit       string
	before     string
	after      string
	editAfter  string // the edited file's new content (default: shared "shared v2")
	unknown    string // a notice the output must hold: the server's inputs are unknown
	skipClient bool   // the edit must not rebuild the client
}

func TestUpAffectedConfigurations(t *testing.T) {
	e2etest.RequireBuildKit(t)
	shared := "internal/shared/shared.go"
	cases := []affectsCase{
		{name: "-tags flag", // the reproduction
			dockerfile: affectsDockerfile("ENV CGO_ENABLED=0", cacheAndBind+"go build -tags prod -o /bin/server ./cmd/server"),
			files:      map[string]string{"cmd/server/prod.go": serverUses("prod")}},
		{name: "GOFLAGS in ENV",
			dockerfile: affectsDockerfile("ENV CGO_ENABLED=0", "ENV GOFLAGS=-tags=prod\n"+cacheAndBind+"go build -o /bin/server ./cmd/server"),
			files:      map[string]string{"cmd/server/prod.go": serverUses("prod")}},
		{name: "ARG with a default",
			dockerfile: affectsDockerfile("ENV CGO_ENABLED=0", "ARG TAGS=prod\n"+cacheAndBind+"go build -tags \"$TAGS\" -o /bin/server ./cmd/server"),
			files:      map[string]string{"cmd/server/prod.go": serverUses("prod")}},
		{name: "build arg from devloop.yaml",
			dockerfile: affectsDockerfile("ENV CGO_ENABLED=0", "ARG TAGS=dev\n"+cacheAndBind+"go build -tags \"$TAGS\" -o /bin/server ./cmd/server"),
			files:      map[string]string{"cmd/server/prod.go": serverUses("prod")},
			buildArgs:  "{TAGS: prod}"},
		{name: "inline environment",
			dockerfile: affectsDockerfile("ENV CGO_ENABLED=0", cacheAndBind+"GOFLAGS=-tags=prod go build -o /bin/server ./cmd/server"),
			files:      map[string]string{"cmd/server/prod.go": serverUses("prod")}},
		{name: "cgo left to the container", // the testbed's image has no C compiler: cgo is off there, on on this host
			dockerfile: affectsDockerfile("", cacheAndBind+"go build -o /bin/server ./cmd/server"),
			files:      map[string]string{"cmd/server/nocgo.go": serverUses("!cgo")}},
		{name: "a GOOS file on a darwin host",
			dockerfile: affectsDockerfile("ENV CGO_ENABLED=0", cacheAndBind+"go build -o /bin/server ./cmd/server"),
			files:      map[string]string{"cmd/server/uses_linux.go": serverUses("")},
			env:        map[string]string{"GOOS": "darwin", "GOARCH": "arm64", "GOFLAGS": "-tags=hostonly"}},
		{name: "vendored module",
			dockerfile: affectsDockerfile("ENV CGO_ENABLED=0", cacheAndBind+"go build -mod=vendor -o /bin/server ./cmd/server"),
			files: map[string]string{
				"go.mod":                      "module example.com/aff\n\ngo 1.26\n\nrequire example.com/lib v0.0.0\n",
				"vendor/modules.txt":          "# example.com/lib v0.0.0\n## explicit\nexample.com/lib\n",
				"vendor/example.com/lib/l.go": "package lib\n\nconst Text = \"lib v1\"\n",
				"cmd/server/lib.go":           "package main\n\nimport \"example.com/lib\"\n\nfunc init() { msg = lib.Text }\n",
			},
			edit: "vendor/example.com/lib/l.go", before: "lib v1", after: "lib v2",
			editAfter: "package lib\n\nconst Text = \"lib v2\"\n", skipClient: true},
		{name: "embedded files",
			dockerfile: affectsDockerfile("ENV CGO_ENABLED=0", cacheAndBind+"go build -o /bin/server ./cmd/server"),
			files: map[string]string{
				"cmd/server/data/msg.txt": "embedded v1\n",
				"cmd/server/embed.go":     "package main\n\nimport (\n\t\"embed\"\n\t\"strings\"\n)\n\n//go:embed data\nvar data embed.FS\n\nfunc init() {\n\tb, _ := data.ReadFile(\"data/msg.txt\")\n\tmsg = strings.TrimSpace(string(b))\n}\n",
			},
			edit: "cmd/server/data/msg.txt", before: "embedded v1", after: "embedded v2",
			editAfter: "embedded v2\n", skipClient: true},
		{name: "a variable with no value",
			dockerfile: affectsDockerfile("ENV CGO_ENABLED=0", "ARG TAGS\n"+cacheAndBind+"go build -tags \"$TAGS\" -o /bin/server ./cmd/server"),
			files:      map[string]string{"cmd/server/prod.go": serverUses("prod")},
			before:     "no shared", after: "no shared",
			unknown: `[devloop] server: inputs unknown (Dockerfile:7: go build -tags "$TAGS" has no value (ARG TAGS on line 6 has no default and no build arg)): every change rebuilds it`},
	}
	for _, c := range cases {
		if c.edit == "" {
			c.edit, c.editAfter = shared, sharedSource("shared v2")
		}
		if c.before == "" {
			c.before, c.after = "shared v1", "shared v2"
		}
		t.Run(c.name, func(t *testing.T) { runAffectsCase(t, c) })
	}
}

func runAffectsCase(t *testing.T, c affectsCase) {
	for k, v := range c.env {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	files := affectsFiles()
	maps.Copy(files, c.files)
	files["Dockerfile"] = c.dockerfile
	files["devloop.yaml"] = affectsYAML(c.buildArgs, "")
	for name, content := range files {
		e2etest.WriteFile(t, filepath.Join(dir, name), content)
	}
	server := filepath.Join(dir, "bin", "server")
	up := startUp(t, dir)

	up.WaitLines(reOK, 1, 5*time.Minute)
	if got := output(t, server); got != c.before {
		t.Fatalf("first build: bin/server prints %q, want %q (the case does not build what it means to)", got, c.before)
	}
	if c.unknown != "" {
		if !strings.Contains(up.Output(), c.unknown) {
			t.Errorf("output lacks the notice %q", c.unknown)
		}
	}

	// The edit reaches the server.
	e2etest.WriteFile(t, filepath.Join(dir, c.edit), c.editAfter)
	line := up.WaitLines(reStartedLine, 2, 2*time.Minute)[2]
	if strings.Contains(line, "not affected: server") || !strings.Contains(line, "server") {
		t.Errorf("an edit of %s: %q, want the server rebuilt", c.edit, line)
	}
	if c.skipClient && !strings.Contains(line, "(not affected: client)") {
		t.Errorf("an edit of %s: %q, want the client skipped", c.edit, line)
	}
	up.WaitLines(reOK, 2, 2*time.Minute)
	if got := output(t, server); got != c.after {
		t.Errorf("after editing %s bin/server prints %q, want %q", c.edit, got, c.after)
	}

	// A client-only edit skips the server, unless its inputs are unknown.
	e2etest.WriteFile(t, filepath.Join(dir, "cmd", "client", "main.go"), clientSource("client v2"))
	line = up.WaitLines(reStartedLine, 3, 2*time.Minute)[2]
	switch skipped := strings.Contains(line, "(not affected: server)"); {
	case c.unknown == "" && !skipped:
		t.Errorf("a client-only edit: %q, want the server not affected", line)
	case c.unknown != "" && skipped:
		t.Errorf("a client-only edit: %q, but the server's inputs are unknown", line)
	}
	up.WaitLines(reOK, 3, 2*time.Minute)
	if got, want := output(t, filepath.Join(dir, "bin", "client")), "client v2 "+sharedText(c); got != want {
		t.Errorf("bin/client prints %q, want %q", got, want)
	}
	if n := strings.Count(up.Output(), "inputs unknown"); c.unknown != "" && n != 1 {
		t.Errorf("the inputs-unknown notice appears %d times, want once", n)
	}
}

// sharedText is internal/shared's text after the case's edit.
func sharedText(c affectsCase) string {
	if strings.HasSuffix(c.edit, "shared.go") {
		return "shared v2"
	}
	return "shared v1"
}

// TestUpAffectedServing is the reproduction as a user meets it: the server
// runs and serves internal/shared's text; after an edit there it must serve the new
// text, not keep the old binary while the client alone is rebuilt.
func TestUpAffectedServing(t *testing.T) {
	e2etest.RequireBuildKit(t)
	port := e2etest.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	dir := t.TempDir()
	files := affectsFiles()
	files["cmd/server/prod.go"] = serverUses("prod")
	files["Dockerfile"] = affectsDockerfile("ENV CGO_ENABLED=0", cacheAndBind+"go build -tags prod -o /bin/server ./cmd/server")
	files["devloop.yaml"] = affectsYAML("", fmt.Sprintf(`
    run:
      command: [bin/server, --addr, "127.0.0.1:%d"]
      stop_timeout: 2s
      ready: %s`, port, url))
	for name, content := range files {
		e2etest.WriteFile(t, filepath.Join(dir, name), content)
	}
	up := startUp(t, dir)
	e2etest.WaitServes(t, url, "shared v1", 5*time.Minute)
	e2etest.WriteFile(t, filepath.Join(dir, "internal", "shared", "shared.go"), sharedSource("shared v2"))
	e2etest.WaitServes(t, url, "shared v2", 2*time.Minute)
	if line := up.WaitLines(reStartedLine, 2, time.Minute)[2]; strings.Contains(line, "not affected") {
		t.Errorf("an edit of internal/shared: %q, want both targets rebuilt", line)
	}
}

// TestUpAffectedExample: on the example, a server-only edit still skips the client
// and a client-only edit the server — the analysis must stay precise where it can.
func TestUpAffectedExample(t *testing.T) {
	e2etest.RequireBuildKit(t)
	dir := e2etest.ExampleProject(t, exampleYAML)
	up := startUp(t, dir)
	up.WaitLines(reOK, 1, 5*time.Minute)
	if strings.Contains(up.Output(), "inputs unknown") {
		t.Fatalf("the example's inputs are unknown:\n%s", up.Output())
	}
	handler := filepath.Join(dir, "cmd", "server", "handler.go")
	replaceInFile(t, handler, "return mux", "return mux // edited")
	if line := up.WaitLines(reStartedLine, 2, 2*time.Minute)[2]; !strings.HasPrefix(line, "server (not affected: client)") {
		t.Errorf("a server-only edit: %q, want %q", line, "server (not affected: client) …")
	}
	up.WaitLines(reOK, 2, 2*time.Minute)
	client := filepath.Join(dir, "cmd", "client", "main.go")
	data, err := os.ReadFile(client)
	if err != nil {
		t.Fatal(err)
	}
	e2etest.WriteFile(t, client, string(data)+"\n// edited\n")
	if line := up.WaitLines(reStartedLine, 3, 2*time.Minute)[2]; !strings.HasPrefix(line, "client (not affected: server)") {
		t.Errorf("a client-only edit: %q, want %q", line, "client (not affected: server) …")
	}
	up.WaitLines(reOK, 3, 2*time.Minute)
}
