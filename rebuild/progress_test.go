package rebuild

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/opencontainers/go-digest"
)

// TestPrinterKeepsEveryTargetsSteps: BuildKit v0.8 gives its "exporting to client"
// vertex the same digest in every solve. Two targets' solves report it at once; the
// shared display must show it once per target, each with its own status and end.
func TestPrinterKeepsEveryTargetsSteps(t *testing.T) {
	var buf bytes.Buffer
	p, err := NewPrinter(&buf, "plain", true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	export := digest.FromString("exporting to client") // the same in both solves
	build := digest.FromString("build")                // a shared cached input
	t0 := time.Unix(1700000000, 0)
	started, completed := t0, t0.Add(time.Second)
	for _, target := range []string{"server", "client"} {
		p.send(ctx, target, &client.SolveStatus{Vertexes: []*client.Vertex{
			{Digest: build, Name: "[build 1/1] RUN go build", Started: &started, Completed: &completed, Cached: true},
			{Digest: export, Name: "exporting to client", Inputs: []digest.Digest{build}, Started: &started},
		}})
	}
	for _, target := range []string{"server", "client"} {
		p.send(ctx, target, &client.SolveStatus{
			Vertexes: []*client.Vertex{{Digest: export, Name: "exporting to client", Inputs: []digest.Digest{build}, Started: &started, Completed: &completed}},
			Statuses: []*client.VertexStatus{{ID: "copying files " + target, Vertex: export, Timestamp: completed, Started: &started, Completed: &completed}},
			Logs:     []*client.VertexLog{{Vertex: export, Data: []byte("log of " + target + "\n"), Timestamp: started}},
		})
	}
	p.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	ids := map[string]string{}
	for _, target := range []string{"server", "client"} {
		m := regexp.MustCompile(`(?m)^(#\d+) \[` + target + `\] exporting to client$`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no %q step in the output:\n%s", "["+target+"] exporting to client", out)
		}
		ids[target] = m[1]
		for _, want := range []string{m[1] + " copying files " + target, m[1] + " DONE", "log of " + target} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q (target %s):\n%s", want, target, out)
			}
		}
	}
	if ids["server"] == ids["client"] {
		t.Errorf("both targets' export steps are %s: they collided\n%s", ids["server"], out)
	}
}

// TestPrefixed: names get the target's prefix, every digest (and progress group) is
// made unique per target and stays consistent within it; the input is not modified.
func TestPrefixed(t *testing.T) {
	a, b := digest.FromString("a"), digest.FromString("b")
	ss := &client.SolveStatus{
		Vertexes: []*client.Vertex{{Digest: b, Name: "step b", Inputs: []digest.Digest{a}}},
		Statuses: []*client.VertexStatus{{ID: "s", Vertex: b}},
		Logs:     []*client.VertexLog{{Vertex: b}},
		Warnings: []*client.VertexWarning{{Vertex: b}},
	}
	x, y := prefixed("x", ss), prefixed("y", ss)
	if got := x.Vertexes[0].Name; got != "[x] step b" {
		t.Errorf("name = %q, want %q", got, "[x] step b")
	}
	xb := x.Vertexes[0].Digest
	if xb == b || xb == y.Vertexes[0].Digest {
		t.Errorf("digest of b for target x = %s: want one unlike the original (%s) and target y's (%s)", xb, b, y.Vertexes[0].Digest)
	}
	if x.Statuses[0].Vertex != xb || x.Logs[0].Vertex != xb || x.Warnings[0].Vertex != xb {
		t.Errorf("status, log and warning of b must name b's new digest %s: %s, %s, %s", xb, x.Statuses[0].Vertex, x.Logs[0].Vertex, x.Warnings[0].Vertex)
	}
	if in := x.Vertexes[0].Inputs[0]; in == a || in != prefixed("x", &client.SolveStatus{Vertexes: []*client.Vertex{{Digest: a}}}).Vertexes[0].Digest {
		t.Errorf("input a of b = %s, want a's digest for target x", in)
	}
	if ss.Vertexes[0].Digest != b || ss.Vertexes[0].Name != "step b" || ss.Statuses[0].Vertex != b || ss.Vertexes[0].Inputs[0] != a {
		t.Errorf("prefixed modified its input: %+v", ss.Vertexes[0])
	}
}
