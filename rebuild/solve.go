package rebuild

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cplatforms "github.com/containerd/platforms"
	dockerconfig "github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/cmd/buildctl/build"
	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/auth/authprovider"
	"github.com/moby/buildkit/session/secrets/secretsprovider"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/tonistiigi/fsutil"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc/codes"
)

// Request is one Dockerfile target to solve and export.
type Request struct {
	Target     string // devloop target name (progress prefix, errors)
	Stage      string // Dockerfile stage (the frontend's "target")
	Context    string // absolute build context directory
	Dockerfile string // absolute path of the Dockerfile
	// DockerfileSource, when not nil, is built instead of the Dockerfile's content
	// (a dev build of it): the file is not read, and the frontend reads its
	// Dockerfile-specific ignore file (<Dockerfile>.dockerignore) from the host as
	// when it reads the file. Line numbers in BuildKit's messages are this source's.
	DockerfileSource []byte
	BuildArgs        map[string]string // --build-arg
	// Excludes are extra context exclusions (.dockerignore syntax, relative to Context)
	// applied on the client before anything is sent, on top of the .dockerignore that the
	// frontend applies: devloop's output and staging paths.
	Excludes []string
	// Skip, if set, leaves out more paths (slash-separated, relative to Context) by a
	// rule patterns cannot express, such as editor temp file names; it is called for
	// every path the context walk visits. For a directory, true leaves out everything
	// below it too: the walk does not descend.
	Skip func(rel string, isDir bool) bool
	// Only, when set, narrows the context to the paths the build reads: nothing else
	// is sent (see [Subset]). Nil sends the whole context.
	Only *Subset
	// Stats, when set, serves the context walk from memory (see [StatCache]); it
	// must be the cache of Context.
	Stats     *StatCache
	CacheFrom []string // cache specs: "type=registry,ref=…" (see [CheckCacheSpec])
	CacheTo   []string
	Secrets   map[string]Secret
	// Pins rewrite images to digests resolved earlier (see [Client.Resolve]).
	Pins Pins
	// BuiltinFrontend runs the Dockerfile with the daemon's built-in frontend even when
	// it names a frontend image (`# syntax=`, BUILDKIT_SYNTAX): see [BuiltinCovers].
	// It saves starting the frontend image's container on every solve.
	BuiltinFrontend bool
	// Platforms are the platforms to build for, normalized ("linux/amd64",
	// "darwin/arm64"), as `docker build --platform`: the Dockerfile frontend's
	// platform attribute, which sets TARGETPLATFORM, TARGETOS, TARGETARCH and
	// TARGETVARIANT and the platform of every stage whose FROM names none. Several
	// platforms export one subdirectory of Dest per platform ([PlatformDir]). Nil, or
	// the daemon's own platform alone, builds for the daemon's default platform.
	Platforms []string
	// Dest is the directory BuildKit's local exporter writes the result into.
	Dest string
}

// PlatformDir is the subdirectory BuildKit's local exporter writes one platform's
// files into when a solve builds several platforms: "linux_amd64", "linux_arm_v7",
// "darwin_arm64" (exporter/local's PlatformIDToPath of the platform's ID).
func PlatformDir(platform string) string {
	return strings.NewReplacer("/", "_", `\`, "_", ":", "_").Replace(platform)
}

// platformAttr is the frontend's platform attribute for platforms built by a daemon
// whose default platform is daemon: "" when that default is the only one asked for,
// so a build for this daemon's own platform solves exactly as one that names none.
func platformAttr(platforms []string, daemon ocispecs.Platform) string {
	if len(platforms) == 1 && daemon.OS != "" && platforms[0] == formatPlatform(daemon) {
		return ""
	}
	return strings.Join(platforms, ",")
}

func formatPlatform(p ocispecs.Platform) string {
	return cplatforms.Format(cplatforms.Normalize(p))
}

// IsPlatformUnavailable reports a build that failed because what its target platform
// needs is not there: a base image without a variant for that platform (the
// registry's "no match for platform in manifest"), or a program of that platform the
// builder cannot run without emulation ("exec format error"). Both mean a stage runs
// on the target platform where it should run on the builder's and cross-compile.
func IsPlatformUnavailable(err error) bool {
	var be *BuildError
	if !errors.As(err, &be) {
		return false
	}
	for _, s := range []string{be.Err.Error(), be.Logs} {
		if strings.Contains(s, "no match for platform in manifest") || strings.Contains(s, "exec format error") {
			return true
		}
	}
	return false
}

// Secret is the source of a build secret: a file or an environment variable.
type Secret struct{ File, Env string }

// Stats are the phases of one solve as BuildKit reported them.
type Stats struct {
	Solve  time.Duration // from the request until the export began
	Export time.Duration // the local exporter writing into Dest
}

// BuildError is a solve that failed in the build itself (a RUN step, a missing stage, a
// Dockerfile syntax error), as opposed to a failure to reach the daemon.
type BuildError struct {
	Target string
	Step   string // name of the failing vertex, e.g. "[build-server 1/1] RUN go build …"
	Logs   string // the failing step's output (the compiler's messages), bounded
	// DockerfileSource is the request's: the Dockerfile source the solve built
	// instead of the file, nil for the file.
	DockerfileSource []byte
	Err              error
}

func (e *BuildError) Error() string {
	if e.Step != "" {
		return fmt.Sprintf("build %s: %s: %v", e.Target, e.Step, e.Err)
	}
	return fmt.Sprintf("build %s: %v", e.Target, e.Err)
}

func (e *BuildError) Unwrap() error { return e.Err }

// SharedKey identifies a context directory to the daemon across solves so that it can
// reuse what it already received and transfer only changed files (buildx derives its
// key from the absolute context path the same way).
func SharedKey(contextDir string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte("devloop:" + host + ":" + filepath.Clean(contextDir)))
	return hex.EncodeToString(sum[:16])
}

// solveOpt builds the SolveOpt for req. It has no side effects beyond reading the file
// system roots, so tests can inspect it.
func solveOpt(req Request) (client.SolveOpt, error) {
	ctxFS, err := contextFS(req)
	if err != nil {
		return client.SolveOpt{}, err
	}
	locals := map[string]fsutil.FS{"context": ctxFS}
	var inputs map[string]llb.State
	if req.DockerfileSource != nil {
		st, err := dockerfileInput(req.Dockerfile, req.DockerfileSource)
		if err != nil {
			return client.SolveOpt{}, err
		}
		inputs = map[string]llb.State{dockerfileLocal: st}
	} else {
		dfDir := filepath.Dir(req.Dockerfile)
		if _, err := os.Stat(req.Dockerfile); err != nil {
			return client.SolveOpt{}, fmt.Errorf("read Dockerfile: %w", err)
		}
		dfFS, err := fsutil.NewFS(dfDir)
		if err != nil {
			return client.SolveOpt{}, fmt.Errorf("open Dockerfile directory %s: %w", dfDir, err)
		}
		locals[dockerfileLocal] = dfFS
	}
	attrs := map[string]string{
		"filename": filepath.Base(req.Dockerfile),
	}
	if req.Stage != "" {
		attrs["target"] = req.Stage
	}
	for k, v := range req.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	if req.BuiltinFrontend {
		// dockerfile.v0 forwards to a syntax image only when no "cmdline" is set (an
		// image frontend it forwarded to receives its command line that way).
		attrs["cmdline"] = "devloop:builtin"
	}
	opt := client.SolveOpt{
		Frontend:       "dockerfile.v0",
		FrontendAttrs:  attrs,
		LocalMounts:    locals,
		FrontendInputs: inputs,
		SharedKey:      sharedKey(req),
		Exports:        []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: req.Dest}},
		SourcePolicy:   req.Pins.policy(),
	}
	if opt.CacheImports, err = parseCacheSpecs(req.CacheFrom, build.ParseImportCache); err != nil {
		return client.SolveOpt{}, fmt.Errorf("cache.from: %w", err)
	}
	if opt.CacheExports, err = parseCacheSpecs(req.CacheTo, build.ParseExportCache); err != nil {
		return client.SolveOpt{}, fmt.Errorf("cache.to: %w", err)
	}
	if len(req.Secrets) > 0 {
		a, err := secretAttachable(req.Secrets)
		if err != nil {
			return client.SolveOpt{}, err
		}
		opt.Session = append(opt.Session, a)
	}
	// Registry credentials (docker login, credential helpers) for private base images
	// and registry caches, looked up when the daemon asks, as buildctl does. The
	// config directory is read as dockerContextHost reads it, from $DOCKER_CONFIG
	// now (the docker CLI's own lookup keeps the first it saw for the process); an
	// error reading config.json is ignored, as the docker CLI's default loader does.
	dockerCfg, _ := dockerconfig.Load(dockerConfigDir())
	if !dockerCfg.ContainsAuth() {
		dockerCfg.CredentialsStore = credentials.DetectDefaultStore(dockerCfg.CredentialsStore)
	}
	opt.Session = append(opt.Session, authprovider.NewDockerAuthProvider(authprovider.DockerAuthProviderConfig{
		AuthConfigProvider: authprovider.LoadAuthConfig(dockerCfg),
	}))
	return opt, nil
}

// dockerfileLocal is the name under which the Dockerfile frontend (BuildKit's
// frontend/dockerui) looks for the directory holding the Dockerfile: a local the
// client syncs, or a frontend input of that name, which it reads instead.
const dockerfileLocal = "dockerfile"

// dockerfileInput is the frontend input that serves source as the Dockerfile at
// path: a scratch state holding it under the file's name, with the file's own
// <name>.dockerignore from the host next to it when there is one (the frontend reads
// both from the input, then the context's .dockerignore when the first is absent).
func dockerfileInput(path string, source []byte) (llb.State, error) {
	name := filepath.Base(path)
	st := llb.Scratch().File(llb.Mkfile("/"+name, 0o644, source), llb.WithCustomName("[internal] devloop dev build of "+name))
	ignore, err := os.ReadFile(path + ".dockerignore")
	switch {
	case err == nil:
		st = st.File(llb.Mkfile("/"+name+".dockerignore", 0o644, ignore), llb.WithCustomName("[internal] "+name+".dockerignore"))
	case !errors.Is(err, fs.ErrNotExist):
		return llb.State{}, fmt.Errorf("read %s.dockerignore: %w", path, err)
	}
	return st, nil
}

// CheckSecret reports why Solve would refuse the build secret id, such as a file
// that does not exist or is too big, or nil.
func CheckSecret(id string, s Secret) error {
	_, err := secretsprovider.NewStore([]secretsprovider.Source{{ID: id, FilePath: s.File, Env: s.Env}})
	return err
}

func secretAttachable(secrets map[string]Secret) (session.Attachable, error) {
	srcs := make([]secretsprovider.Source, 0, len(secrets))
	for _, id := range slices.Sorted(maps.Keys(secrets)) {
		s := secrets[id]
		srcs = append(srcs, secretsprovider.Source{ID: id, FilePath: s.File, Env: s.Env})
	}
	store, err := secretsprovider.NewStore(srcs)
	if err != nil {
		return nil, fmt.Errorf("load build secrets: %w", err)
	}
	return secretsprovider.NewSecretProvider(store), nil
}

// CheckCacheSpec reports why Solve would refuse spec as a cache.from or cache.to
// entry, or nil. The grammar is buildctl's --import-cache/--export-cache CSV
// ("type=registry,ref=example.com/app:cache,mode=max"), except that the type must be
// written: buildctl's legacy bare-reference form is refused.
func CheckCacheSpec(spec string) error {
	_, err := parseCacheSpecs([]string{spec}, build.ParseImportCache)
	if err == nil {
		_, err = parseCacheSpecs([]string{spec}, build.ParseExportCache)
	}
	return err
}

// parseCacheSpecs parses cache specs with one of buildctl's parsers
// (build.ParseImportCache for cache.from, build.ParseExportCache for cache.to).
func parseCacheSpecs(specs []string, parse func([]string) ([]client.CacheOptionsEntry, error)) ([]client.CacheOptionsEntry, error) {
	out := make([]client.CacheOptionsEntry, 0, len(specs))
	for _, spec := range specs {
		// buildctl reads a spec without "type=" as a registry reference (deprecated
		// since BuildKit v0.4): in devloop.yaml it is far more likely a typo.
		if !strings.Contains(spec, "type=") {
			return nil, fmt.Errorf(`cache spec %q has no "type=", e.g. "type=registry,ref=registry.example.com/app:cache"`, spec)
		}
		e, err := parse([]string{spec})
		if err != nil {
			return nil, fmt.Errorf("invalid cache spec %q: %w", spec, err)
		}
		out = append(out, e...)
	}
	return out, nil
}

// Solve builds req with the Dockerfile frontend and exports the result into req.Dest.
// Progress goes to p (nil: nowhere). A failure inside the build is a [*BuildError];
// a daemon that went away is an [*UnreachableError].
func (c *Client) Solve(ctx context.Context, req Request, p *Printer) (Stats, error) {
	opt, err := solveOpt(req)
	if err != nil {
		return Stats{}, &BuildError{Target: req.Target, Err: err}
	}
	if p := platformAttr(req.Platforms, c.platform); p != "" {
		opt.FrontendAttrs["platform"] = p
	}
	start := time.Now()
	tr := newTracker()
	out := c.cancellable(ctx, func(cctx context.Context, rel *relay) error {
		ch := make(chan *client.SolveStatus)
		g, gctx := errgroup.WithContext(cctx)
		g.Go(func() error {
			_, err := c.bk.Solve(gctx, nil, opt, ch)
			return err
		})
		g.Go(func() error {
			for ss := range ch {
				rel.do(func() {
					tr.update(ss)
					p.send(cctx, req.Target, ss)
				})
			}
			return nil
		})
		return g.Wait()
	})
	err = out.err
	if out.abandoned {
		c.log.Debug("solve cancelled; BuildKit's teardown goes on in the background", zap.String("target", req.Target))
		return Stats{Solve: time.Since(start)}, fmt.Errorf("build %s: %w", req.Target, err)
	}
	total := time.Since(start)
	stats := Stats{Export: tr.exportTime()}
	stats.Solve = max(total-stats.Export, 0)
	c.log.Debug("solve finished", zap.String("target", req.Target), zap.Duration("solve", stats.Solve),
		zap.Duration("export", stats.Export), zap.Error(err))
	if err == nil {
		return stats, nil
	}
	if ctx.Err() != nil {
		return stats, fmt.Errorf("build %s: %w", req.Target, context.Cause(ctx))
	}
	if isUnavailable(err) {
		return stats, &UnreachableError{Address: c.addr, Err: simplifyDialError(err)}
	}
	step, logs := tr.failure()
	return stats, &BuildError{Target: req.Target, Step: step, Logs: logs, DockerfileSource: req.DockerfileSource, Err: explainUnsupported(c.addr, simplifyDialError(err))}
}

// isUnavailable reports whether err means the daemon went away (as opposed to a build
// that failed). It goes by the gRPC status of the call: a registry that refuses a
// connection inside the build arrives with code Unknown and is a build failure, not an
// unreachable daemon.
func isUnavailable(err error) bool {
	if grpcerrors.Code(err) == codes.Unavailable {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"code = Unavailable", "error reading from server", "transport is closing"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

const maxLogBytes = 64 << 10

// tracker follows a solve's status stream: vertex names and errors, each vertex's
// output (the last maxLogBytes of it), and when the local export ran.
type tracker struct {
	order    []digest.Digest
	vertices map[digest.Digest]*client.Vertex
	logs     map[digest.Digest][]byte
}

func newTracker() *tracker {
	return &tracker{vertices: map[digest.Digest]*client.Vertex{}, logs: map[digest.Digest][]byte{}}
}

func (t *tracker) update(ss *client.SolveStatus) {
	for _, v := range ss.Vertexes {
		if _, ok := t.vertices[v.Digest]; !ok {
			t.order = append(t.order, v.Digest)
		}
		t.vertices[v.Digest] = v
	}
	for _, l := range ss.Logs {
		b := append(t.logs[l.Vertex], l.Data...)
		if len(b) > maxLogBytes {
			b = b[len(b)-maxLogBytes:]
		}
		t.logs[l.Vertex] = b
	}
}

func (t *tracker) exportTime() time.Duration {
	for _, v := range t.vertices {
		if strings.HasPrefix(v.Name, "exporting to client") && v.Started != nil && v.Completed != nil {
			return v.Completed.Sub(*v.Started)
		}
	}
	return 0
}

// failure names the failing step and returns its output.
func (t *tracker) failure() (step, logs string) {
	for i := len(t.order) - 1; i >= 0; i-- {
		v := t.vertices[t.order[i]]
		if v.Error != "" && !strings.Contains(v.Error, "context canceled") {
			return v.Name, string(t.logs[v.Digest])
		}
	}
	return "", ""
}
