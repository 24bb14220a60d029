package main

import (
	"bytes"
	"strings"
	"testing"
)

// Two solves, as `devloop up --progress rawjson` prints them, with a status line and a
// vertex reported three times (queued, started, completed).
const input = `[devloop] build started #1: server
{"vertexes":[{"digest":"sha256:a","name":"[internal] load build definition from Dockerfile","started":"2026-11-27T08:00:00.000Z","completed":"2026-11-27T08:00:00.010Z"}]}
{"vertexes":[{"digest":"sha256:b","name":"[build 1/1] RUN go build"}]}
{"vertexes":[{"digest":"sha256:b","name":"[build 1/1] RUN go build","started":"2026-11-27T08:00:00.020Z"}]}
{"vertexes":[{"digest":"sha256:b","name":"[build 1/1] RUN go build","started":"2026-11-27T08:00:00.020Z","completed":"2026-11-27T08:00:00.620Z"}]}
{"vertexes":[{"digest":"sha256:c","name":"[base 1/1] WORKDIR /src","started":"2026-11-27T08:00:00.015Z","completed":"2026-11-27T08:00:00.015Z","cached":true}]}
{"vertexes":[{"digest":"sha256:a","name":"[internal] load build definition from Dockerfile","started":"2026-11-27T08:00:05.000Z","completed":"2026-11-27T08:00:05.004Z"}]}
{"vertexes":[{"digest":"sha256:b","name":"[build 1/1] RUN go build","started":"2026-11-27T08:00:05.010Z","completed":"2026-11-27T08:00:05.110Z","error":"exit code: 1"}]}
`

func TestRun(t *testing.T) {
	tests := []struct {
		name string
		last bool
		want string
	}{
		{"whole stream", false, `  0.000s    0.010s        [internal] load build definition from Dockerfile
  0.015s    0.000s CACHED [base 1/1] WORKDIR /src
  0.020s    0.600s        [build 1/1] RUN go build
  5.000s    0.004s        [internal] load build definition from Dockerfile
  5.010s    0.100s ERROR  [build 1/1] RUN go build
total 5.110s (first vertex started → last completed)
`},
		{"last solve", true, `  0.000s    0.004s        [internal] load build definition from Dockerfile
  0.010s    0.100s ERROR  [build 1/1] RUN go build
total 0.110s (first vertex started → last completed)
`},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := run(nil, false, tt.last, strings.NewReader(input), &out); err != nil {
			t.Fatalf("%s: run: %v", tt.name, err)
		}
		if got := out.String(); got != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}

func TestRunMarkdown(t *testing.T) {
	var out bytes.Buffer
	if err := run(nil, true, true, strings.NewReader(input), &out); err != nil {
		t.Fatal(err)
	}
	want := "| start | duration | | step |\n|--:|--:|---|---|\n" +
		"| 0.000s | 0.004s |  | `[internal] load build definition from Dockerfile` |\n" +
		"| 0.010s | 0.100s | ERROR | `[build 1/1] RUN go build` |\n" +
		"\nfirst vertex started → last completed: 0.110s\n"
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRunNoVertices(t *testing.T) {
	err := run(nil, false, false, strings.NewReader("[devloop] build ok #1\n"), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no vertices") {
		t.Errorf("run on input without vertices: err = %v, want one saying there are no vertices", err)
	}
}
