package golang

import (
	"fmt"
	"path"
	"strings"

	"github.com/devloop/devloop/dockerfile"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// xxImage is tonistiigi/xx, whose image holds nothing but its scripts in /usr/bin
// (FROM scratch, COPY --from=build /out/ /usr/bin/: its src/Dockerfile), which
// Dockerfiles copy whole: COPY --from=xx / /.
const xxImage = "docker.io/tonistiigi/xx"

// isXXImage reports whether ref names the tonistiigi/xx image, any tag or digest.
func isXXImage(ref string) bool {
	named, err := reference.ParseNormalizedNamed(ref)
	return err == nil && named.Name() == xxImage
}

// xxLayer narrows a COPY of the xx image's root to what it holds: its sources
// "/" become /usr/bin/, landing in DEST/usr/bin/.
func xxLayer(sd instructions.SourcesAndDest) instructions.SourcesAndDest {
	if len(sd.SourcePaths) != 1 || path.Clean("/"+sd.SourcePaths[0]) != "/" {
		return sd
	}
	sd.SourcePaths = []string{"/usr/bin/"}
	sd.DestPath = path.Join(sd.DestPath, "usr", "bin") + "/"
	return sd
}

// xxGo turns a command run through xx-go, the cross-compilation wrapper of
// tonistiigi/xx (COPY --from=tonistiigi/xx / /), into the go command it execs.
// As its scripts xx-info and xx-go do: the target platform comes from
// TARGETPLATFORM, else TARGETPAIR (os-arch[variant]), else TARGETOS, TARGETARCH
// and TARGETVARIANT, each when set in the command's environment (an ARG of the
// stage), else from the platform the command runs on (native, its uname); the OS
// defaults to linux and arm's variant to v7. xx-go then sets GOOS and GOARCH to it
// (GOOS js for wasi) and, when not set, GOAMD64, GOARM, GOMIPS or GOMIPS64 from
// the variant. why says what cannot be known: a variable without a known value,
// or xx-go --wrap/--unwrap given here, which rewrite the go env file that every
// later go command reads (the walk follows them: xxWrapping, wrappedGo).
func xxGo(cmd dockerfile.Command, native ocispecs.Platform, nativeWhy string) (dockerfile.Command, string) {
	if len(cmd.Args) > 0 && (cmd.Args[0].Text == "--wrap" || cmd.Args[0].Text == "--unwrap") {
		return cmd, fmt.Sprintf("xx-go %s rewrites the go env file that every later go command reads", cmd.Args[0].Text)
	}
	get := func(name string) (string, string) {
		v, ok := cmd.Env[name]
		switch {
		case !ok || v.Unset:
			return "", ""
		case !v.Known():
			return "", fmt.Sprintf("xx-go: $%s has no known value (%s)", name, v.Why)
		}
		return v.Value, ""
	}
	var vals = map[string]string{}
	for _, k := range []string{"TARGETPLATFORM", "TARGETPAIR", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "GOAMD64", "GOARM", "GOMIPS", "GOMIPS64"} {
		v, why := get(k)
		if why != "" {
			return cmd, why
		}
		vals[k] = v
	}
	goos, goarch, variant := vals["TARGETOS"], vals["TARGETARCH"], vals["TARGETVARIANT"]
	if pair := vals["TARGETPAIR"]; pair != "" {
		os, arch, _ := strings.Cut(pair, "-")
		v := ""
		if a, ok := strings.CutPrefix(arch, "armv"); ok {
			arch, v = "arm", "v"+a
		}
		if os != "" && arch != "" {
			goos, goarch = os, arch
			if v != "" {
				variant = v
			}
		}
	}
	if p := vals["TARGETPLATFORM"]; p != "" {
		parts := strings.Split(p, "/")
		if len(parts) >= 2 && parts[0] != "" && parts[1] != "" {
			goos, goarch = parts[0], parts[1]
			third := ""
			if len(parts) > 2 {
				third = parts[2]
			}
			switch {
			case goarch == "amd64" && (third == "v2" || third == "v3" || third == "v4"):
				variant = third
			case goarch == "arm" && (third == "v5" || third == "v6" || third == "v8"):
				variant = third
			case goarch == "arm":
				variant = "v7"
			case strings.HasPrefix(goarch, "mips"):
				variant = third
			}
		}
	}
	if goarch == "" {
		if nativeWhy != "" {
			return cmd, "xx-go: the target platform is that of the build step, which is unknown (" + nativeWhy + ")"
		}
		goarch = native.Architecture
		if goarch == "arm" {
			variant = native.Variant
		}
	}
	if goos == "" {
		goos = "linux"
	}
	if goarch == "arm" && variant == "" {
		variant = "v7"
	}
	if goos == "wasi" {
		goos = "js"
	}
	env := cmd.Env.Clone()
	set := func(k, v string) { env[k] = dockerfile.Var{Value: v} }
	set("GOOS", goos)
	set("GOARCH", goarch)
	switch {
	case goarch == "amd64" && vals["GOAMD64"] == "" && variant != "":
		set("GOAMD64", variant)
	case goarch == "arm" && vals["GOARM"] == "":
		switch variant {
		case "v5":
			set("GOARM", "5")
		case "v6":
			set("GOARM", "6")
		default:
			set("GOARM", "7")
		}
	case strings.HasPrefix(goarch, "mips64") && variant != "" && vals["GOMIPS64"] == "":
		set("GOMIPS64", variant)
	case strings.HasPrefix(goarch, "mips") && !strings.HasPrefix(goarch, "mips64") && variant != "" && vals["GOMIPS"] == "":
		set("GOMIPS", variant)
	}
	cmd.Name, cmd.Env = "go", env
	return cmd, ""
}

// xxWrapping reports whether cmd is xx-go --wrap (wrap is cmd) or --unwrap (wrap is
// nil): commands that write or remove the go env file of later go commands.
func xxWrapping(cmd dockerfile.Command) (wrap *dockerfile.Command, ok bool) {
	if cmd.Name != "xx-go" || len(cmd.Args) == 0 {
		return nil, false
	}
	switch cmd.Args[0].Text {
	case "--wrap":
		return &cmd, true
	case "--unwrap":
		return nil, true
	}
	return nil, false
}

// wrappedGo is the go command cmd as it runs after xx-go --wrap (wrap): the go env
// file the wrap wrote sets GOOS, GOARCH, GOAMD64 and GOARM, each where cmd's
// environment does not (the environment wins over the file), to what xx-go derives
// from the wrap's environment (see xxGo; native as there).
func wrappedGo(cmd, wrap dockerfile.Command, native ocispecs.Platform, nativeWhy string) (dockerfile.Command, string) {
	wrap.Args = []dockerfile.Word{{Text: "build", Raw: "build"}} // what --wrap computes before writing the file
	w, why := xxGo(wrap, native, nativeWhy)
	if why != "" {
		return cmd, why
	}
	env := cmd.Env.Clone()
	for _, k := range []string{"GOOS", "GOARCH", "GOAMD64", "GOARM"} {
		v, inWrap := w.Env[k]
		if cur, set := env[k]; inWrap && (!set || cur.Unset) {
			env[k] = v
		}
	}
	cmd.Env = env
	return cmd, ""
}
