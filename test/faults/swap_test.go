//go:build e2e && linux

package faults

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop/devloop/internal/e2etest"
)

// swapProject is a project whose builds with variant "A" and "B" export different
// sets of files, and which can be made to fail its next build.
type swapProject struct {
	dir       string
	bin       string // the directory compared against the reference builds
	yaml      func(variant string, broken bool) string
	setBroken func(t *testing.T, broken bool) // nil: yaml handles it
}

func (p *swapProject) configure(t *testing.T, variant string, broken bool) {
	t.Helper()
	e2etest.WriteFile(t, filepath.Join(p.dir, "devloop.yaml"), p.yaml(variant, broken))
	if p.setBroken != nil {
		p.setBroken(t, broken)
	}
}

// filesProject exports five 10 MB files, 100 small ones in a subdirectory and one
// file named after the variant, from a FROM scratch stage: no compiler, a long
// export and a swap of 106 renames plus a stale-file removal.
func filesProject(t *testing.T) *swapProject {
	dir := newProject(t, map[string]string{
		"Dockerfile": `FROM alpine AS gen
ARG VARIANT=A
ARG BROKEN=
RUN [ -z "$BROKEN" ] && mkdir -p /out/more && \
    for i in 1 2 3 4 5; do head -c 10000000 /dev/urandom > /out/f$i; done && \
    for i in $(seq 100); do echo "$VARIANT $i $RANDOM" > /out/more/s$i; done && \
    echo "$VARIANT" > /out/only-$VARIANT && chmod 755 /out/f1

FROM scratch AS files
COPY --from=gen /out/ /bin/
`,
	})
	return &swapProject{
		dir: dir,
		bin: filepath.Join(dir, "bin"),
		yaml: func(variant string, broken bool) string {
			args := "VARIANT: " + variant
			if broken {
				args += ", BROKEN: yes"
			}
			return fmt.Sprintf("build_args: {%s}\ntargets:\n  files:\n    output: .\n", args)
		},
	}
}

// goProject is the Go example's `binaries` stage (bin/client, bin/server) with the
// version stamped from APP_VERSION; a syntax error breaks it.
func goProject(t *testing.T) *swapProject {
	dir := e2etest.ExampleProject(t, "targets: {binaries: {output: bin}}\n")
	broken := filepath.Join(dir, "internal", "greeting", "zz_broken.go")
	return &swapProject{
		dir: dir,
		bin: filepath.Join(dir, "bin"),
		yaml: func(variant string, _ bool) string {
			return fmt.Sprintf("build_args: {APP_VERSION: %s}\ntargets:\n  binaries:\n    output: bin\n", variant)
		},
		setBroken: func(t *testing.T, b bool) {
			if b {
				e2etest.WriteFile(t, broken, "package greeting\n\nfunc broken( {\n")
			} else if err := os.Remove(broken); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		},
	}
}

// TestCrashDuringSwap kills `devloop build` with SIGKILL at random moments of the
// solve, the export into staging and the swap into ./bin (fault 1), alternating
// between two builds with different outputs. After every kill each file in ./bin must
// be complete (one of the two builds' digests); the next start must leave the complete
// old or new set (the new one if the swap's journal was written) and no staging dir;
// and the next build must succeed.
func TestCrashDuringSwap(t *testing.T) {
	e2etest.RequireBuildKit(t)
	n := scaled(t, 20, 100)
	nGo := scaled(t, 3, 10)
	rng := newRand(t)
	t.Run("files", func(t *testing.T) { crashDuringSwap(t, filesProject(t), n-nGo, rng) })
	t.Run("go", func(t *testing.T) { crashDuringSwap(t, goProject(t), nGo, rng) })
}

// Kill modes: at a random time, at a random moment after BuildKit starts writing into
// the staging dir, or a few milliseconds after the swap's journal appears.
const (
	killTimer = iota
	killExport
	killSwap
	killModes
)

func crashDuringSwap(t *testing.T, p *swapProject, n int, rng *rand.Rand) {
	refs := map[string]e2etest.Snapshot{}
	for _, v := range []string{"A", "B"} {
		p.configure(t, v, false)
		mustBuild(t, p.dir)
		refs[v] = e2etest.TakeSnapshot(t, p.bin)
	}
	p.configure(t, "A", false)
	warm := mustBuild(t, p.dir).Elapsed
	if d := e2etest.TakeSnapshot(t, p.bin).Diff(refs["A"]); d != "" {
		t.Fatalf("rebuilding A does not reproduce its first build, cannot compare:\n%s", d)
	}
	common := 0
	for f, d := range refs["A"] {
		if dB, ok := refs["B"][f]; ok && d == dB {
			t.Fatalf("%s is identical in builds A and B; a mixed set would go unnoticed", f)
		} else if ok {
			common++
		}
	}
	t.Logf("reference builds: A %d files, B %d files (%d common, all different); warm build %s",
		len(refs["A"]), len(refs["B"]), common, warm.Round(time.Millisecond))

	phases, outcomes := map[string]int{}, map[string]int{}
	mixed := 0
	cur := "A"
	for i := range n {
		next := map[string]string{"A": "B", "B": "A"}[cur]
		p.configure(t, next, false)
		phase := killBuild(t, p.dir, i%killModes, warm, rng)
		phases[phase]++

		// Right after the kill: every file is complete, from one build or the other.
		got := e2etest.TakeSnapshot(t, p.bin)
		for f, d := range got {
			if d != refs["A"][f] && d != refs["B"][f] {
				t.Errorf("kill %d (%s): %s = %s right after the kill, matches neither build", i, phase, f, d)
			}
		}
		for f := range refs["A"] {
			if _, inB := refs["B"][f]; inB {
				if _, ok := got[f]; !ok {
					t.Errorf("kill %d (%s): %s missing right after the kill", i, phase, f)
				}
			}
		}
		if got.Diff(refs[cur]) != "" && got.Diff(refs[next]) != "" {
			mixed++
		}

		// The next start (a build that fails) recovers: a complete set, no staging.
		p.configure(t, next, true)
		r := runDevloop(t, p.dir, nil, "build", "--progress", "quiet")
		if r.Code != 1 {
			t.Fatalf("kill %d (%s): broken build after the kill: exit %d, want 1\n%v", i, phase, r.Code, r)
		}
		got = e2etest.TakeSnapshot(t, p.bin)
		state := ""
		switch {
		case got.Diff(refs[next]) == "":
			state = "new"
		case got.Diff(refs[cur]) == "":
			state = "old"
		default:
			t.Fatalf("kill %d (%s): after the next start %s holds neither complete set:\nvs old:\n%svs new:\n%s",
				i, phase, p.bin, got.Diff(refs[cur]), got.Diff(refs[next]))
		}
		outcomes[state]++
		if phase == "swap" && state != "new" {
			t.Errorf("kill %d: the swap's journal was written but the next start kept the old set", i)
		}
		if left := stagingLeft(t, p.dir); len(left) > 0 {
			t.Errorf("kill %d (%s): staging dirs survive the next start: %v", i, phase, left)
		}

		// The next build succeeds and leaves exactly the new set.
		p.configure(t, next, false)
		r = runDevloop(t, p.dir, nil, "build", "--progress", "quiet")
		if r.Code != 0 {
			t.Fatalf("kill %d (%s): build after recovery: %v", i, phase, r)
		}
		if d := e2etest.TakeSnapshot(t, p.bin).Diff(refs[next]); d != "" {
			t.Errorf("kill %d (%s): after the next build %s differs from build %s:\n%s", i, phase, p.bin, next, d)
		}
		if left := stagingLeft(t, p.dir); len(left) > 0 {
			t.Errorf("kill %d (%s): staging dirs left after a successful build: %v", i, phase, left)
		}
		cur = next
	}
	t.Logf("%d kills: by phase %v; %d left a mixed ./bin (every file complete) until the next start, which left the %v set",
		n, phases, mixed, outcomes)
}

// killBuild runs `devloop build` in dir, SIGKILLs it according to mode and reports in
// which phase the kill landed, judged by what it left: "solve" (an empty staging dir),
// "export" (a partly staged tree), "swap" (a journal), "idle" (no staging dir: before
// staging or after the swap), or "completed" if the build finished first.
func killBuild(t *testing.T, dir string, mode int, warm time.Duration, rng *rand.Rand) string {
	t.Helper()
	var watch *stagingWatch
	var extra time.Duration
	switch mode {
	case killExport:
		watch = watchStaging(t, dir, func(rel string) bool {
			_, after, ok := strings.Cut(rel, "/out/")
			return ok && after != ""
		})
		extra = time.Duration(rng.Int64N(int64(300 * time.Millisecond)))
	case killSwap:
		watch = watchStaging(t, dir, func(rel string) bool { return strings.HasSuffix(rel, "/journal.json") })
		extra = time.Duration(rng.Int64N(int64(5 * time.Millisecond)))
	}
	cmd := exec.Command(devloopBin, "build", "--progress", "quiet")
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var fired <-chan struct{}
	var timeout <-chan time.Time
	if watch != nil {
		fired = watch.fired
	} else {
		timer := time.NewTimer(time.Duration(rng.Int64N(int64(warm + warm/10))))
		defer timer.Stop()
		timeout = timer.C
	}
	kill := func() error {
		time.Sleep(extra)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		return <-exited
	}
	var err error
	select {
	case <-fired:
		err = kill()
	case <-timeout:
		err = kill()
	case err = <-exited:
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("devloop build neither finished nor reached the kill point in 5m:\n%s", out.String())
	}
	if watch != nil {
		watch.close()
	}
	if err == nil {
		return "completed"
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("devloop build failed before the kill: %v\n%s", err, out.String())
	}
	return stagingPhase(t, dir)
}

// stagingPhase judges what an interrupted export left in dir's staging area.
func stagingPhase(t *testing.T, dir string) string {
	t.Helper()
	root := filepath.Join(dir, ".devloop", "staging")
	ents, err := os.ReadDir(root)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	phase := "idle"
	rank := map[string]int{"idle": 0, "solve": 1, "export": 2, "swap": 3}
	for _, e := range ents {
		p := "solve"
		if _, err := os.Stat(filepath.Join(root, e.Name(), "journal.json")); err == nil {
			p = "swap"
		} else if staged, _ := os.ReadDir(filepath.Join(root, e.Name(), "out")); len(staged) > 0 {
			p = "export"
		}
		if rank[p] > rank[phase] {
			phase = p
		}
	}
	return phase
}
