package config

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
)

// Op says how a key changed between two versions of a config file.
type Op int

// Ops of a [Change].
const (
	Changed Op = iota // the key has another value
	Added             // the key is new
	Removed           // the key is gone
)

// String returns "changed", "added" or "removed".
func (o Op) String() string {
	switch o {
	case Added:
		return "added"
	case Removed:
		return "removed"
	}
	return "changed"
}

// Effect says what a running `devloop up` does with a changed key.
type Effect int

// Effects of a [Change].
const (
	// Rebuild: the new value applies from the next build on, and the change's
	// Targets are rebuilt (their build arguments, stage, secrets or dev_transform
	// changed).
	Rebuild Effect = iota
	// RestartProcess: the new run settings apply, and the Targets' processes are
	// restarted with them; nothing is rebuilt.
	RestartProcess
	// Apply: the new value applies to the following builds or to watching
	// (cache, builder.frontend, watch.ignore, watch.debounce, watch.max_wait);
	// nothing is rebuilt for the key itself (watch.ignore also decides what the
	// build context holds: whoever applies it rebuilds what a changed context
	// affects).
	Apply
	// NotLive: the key cannot change while `devloop up` runs (builder connection,
	// context, dockerfile, the set of targets, an output directory, a run section
	// added or removed, watch.on_busy). Its old value stays until devloop restarts.
	NotLive
)

// Change is one changed key.
type Change struct {
	// Field is the key's dotted path, spelled as in [Error.Field]:
	// "builder.address", "build_args.APP_VERSION", "targets.server.run.command".
	Field string
	Op    Op
	// Line is the key's line in the new file; for a removed key, the line of its
	// nearest enclosing key there. 0 means unknown.
	Line   int
	Effect Effect
	// Targets are the targets the change reaches, sorted: rebuilt for Rebuild, their
	// process restarted for RestartProcess, none otherwise.
	Targets []string
}

// Diff compares the config a running `devloop up` uses (old) with a new version of
// the same file (new). It returns the config to run with from now on — new, except
// that every key that cannot change live ([NotLive]) keeps its old value, so that a
// later Diff against the same file reports that key again — and every changed key,
// ordered by line. old and new are not modified; next shares maps and slices with
// them: treat all three as read-only.
func Diff(old, new *Config) (next *Config, changes []Change) {
	d := &differ{old: old, new: new}
	n := *new
	next = &n

	// How devloop reaches BuildKit and what it builds from: fixed while devloop up runs.
	d.notLive("builder.address", old.Builder.Address != new.Builder.Address, Changed)
	d.notLive("builder.tls", !reflect.DeepEqual(old.Builder.TLS, new.Builder.TLS), presence(old.Builder.TLS != nil, new.Builder.TLS != nil))
	d.notLive("builder.insecure", old.Builder.Insecure != new.Builder.Insecure, Changed)
	d.notLive("context", old.Context != new.Context, Changed)
	d.notLive("dockerfile", old.Dockerfile != new.Dockerfile, Changed)
	next.Builder = old.Builder
	next.Builder.Frontend = new.Builder.Frontend
	next.Context, next.Dockerfile = old.Context, old.Dockerfile
	if old.Builder.Frontend != new.Builder.Frontend {
		d.add("builder.frontend", Changed, Apply, nil)
	}

	// The targets: the set is fixed; within a target most keys apply live.
	next.Targets = make(map[string]*Target, len(old.Targets))
	for _, name := range unionKeys(old.Targets, new.Targets) {
		ot, nt := old.Targets[name], new.Targets[name]
		field := join("targets", name)
		switch {
		case ot == nil:
			d.add(field, Added, NotLive, nil)
			continue
		case nt == nil:
			d.add(field, Removed, NotLive, nil)
			next.Targets[name] = ot
			continue
		}
		next.Targets[name] = d.target(field, ot, nt)
	}

	d.platformChanges()

	// Project-wide build arguments and cache: reported once, with the targets whose
	// effective value changed (a target that overrides the key is not reached).
	for _, k := range changedKeys(old.BuildArgs, new.BuildArgs) {
		reached := d.reached(func(t *Target) any { v, ok := t.BuildArgs[k]; return [2]any{v, ok} })
		effect := Rebuild
		if len(reached) == 0 {
			effect = Apply
		}
		d.add(join("build_args", k), presenceIn(old.BuildArgs, new.BuildArgs, k), effect, reached)
	}
	if !slices.Equal(old.Cache.From, new.Cache.From) {
		d.add("cache.from", Changed, Apply, nil)
	}
	if !slices.Equal(old.Cache.To, new.Cache.To) {
		d.add("cache.to", Changed, Apply, nil)
	}
	// dev_transform changes what the targets build, as a project-wide build argument.
	if old.DevTransform != new.DevTransform {
		reached := d.reached(func(t *Target) any { return t.DevTransform })
		effect := Rebuild
		if len(reached) == 0 {
			effect = Apply
		}
		d.add("dev_transform", Changed, effect, reached)
	}
	// A secret can be read by any RUN of any target: every target is rebuilt.
	for _, id := range changedKeys(old.Secrets, new.Secrets) {
		d.add(join("secrets", id), presenceIn(old.Secrets, new.Secrets, id), Rebuild, slices.Sorted(maps.Keys(next.Targets)))
	}

	if !slices.Equal(old.Watch.Ignore, new.Watch.Ignore) {
		d.add("watch.ignore", Changed, Apply, nil)
	}
	if old.Watch.Debounce != new.Watch.Debounce {
		d.add("watch.debounce", Changed, Apply, nil)
	}
	if old.Watch.MaxWait != new.Watch.MaxWait {
		d.add("watch.max_wait", Changed, Apply, nil)
	}
	d.notLive("watch.on_busy", old.Watch.OnBusy != new.Watch.OnBusy, Changed)
	next.Watch.OnBusy = old.Watch.OnBusy

	slices.SortStableFunc(d.changes, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Field, b.Field))
	})
	return next, d.changes
}

// differ collects the changes of one Diff.
type differ struct {
	old, new *Config
	changes  []Change
	// platforms are the targets whose platforms changed, by the key that changed
	// them ("platform" or "targets.NAME.platform"), and whether it applies live.
	platforms map[string]*platformChange
}

// platformChange is one platform key's change.
type platformChange struct {
	rebuild []string // targets rebuilt for their new platforms
	notLive bool     // a target's run: process would start from another file
}

// platform compares a target's platforms. They apply live, the target rebuilt, unless
// the target runs a process whose binary the change moves (one platform to several:
// bin/server to bin/linux_amd64/server, or another platform's subdirectory): the
// loop's processes keep their command until devloop restarts, so such a target keeps
// its old platforms.
func (d *differ) platform(field string, ot, nt *Target, t *Target) {
	if slices.Equal(ot.Platforms, nt.Platforms) {
		return
	}
	key := "platform"
	switch {
	case d.new.Set(join(field, "platform")) || d.old.Set(join(field, "platform")):
		key = join(field, "platform")
	case slices.Equal(d.old.Platforms, d.new.Platforms):
		// The default followed a run: section added or removed, which is not live:
		// the target keeps both.
		t.Platforms = ot.Platforms
		return
	}
	if d.platforms == nil {
		d.platforms = map[string]*platformChange{}
	}
	pc := d.platforms[key]
	if pc == nil {
		pc = &platformChange{}
		d.platforms[key] = pc
	}
	moved := ot.MultiPlatform() != nt.MultiPlatform() || (nt.MultiPlatform() && ot.RunPlatform() != nt.RunPlatform())
	if ot.Run != nil && nt.Run != nil && moved {
		pc.notLive = true
		t.Platforms = ot.Platforms
		return
	}
	pc.rebuild = append(pc.rebuild, nt.Name)
}

// platformChanges reports the platform keys that changed: a live change with the
// targets it rebuilds, one that moves a process's binary as not live, the project's
// key without a target it reaches (every target sets its own) as applied.
func (d *differ) platformChanges() {
	if !slices.Equal(d.old.Platforms, d.new.Platforms) && d.platforms["platform"] == nil {
		d.add("platform", presence(d.old.Platforms != nil, d.new.Platforms != nil), Apply, nil)
	}
	for _, key := range slices.Sorted(maps.Keys(d.platforms)) {
		pc := d.platforms[key]
		op := Changed
		if key == "platform" {
			op = presence(d.old.Platforms != nil, d.new.Platforms != nil)
		}
		if pc.notLive {
			d.add(key, op, NotLive, nil)
		}
		if len(pc.rebuild) > 0 {
			slices.Sort(pc.rebuild)
			d.add(key, op, Rebuild, pc.rebuild)
		}
	}
}

func (d *differ) add(field string, op Op, effect Effect, targets []string) {
	d.changes = append(d.changes, Change{Field: field, Op: op, Line: d.new.Line(field), Effect: effect, Targets: targets})
}

func (d *differ) notLive(field string, changed bool, op Op) {
	if changed {
		d.add(field, op, NotLive, nil)
	}
}

// target compares one target present in both versions and returns the target to run
// with: nt, with the keys that cannot change live kept from ot.
func (d *differ) target(field string, ot, nt *Target) *Target {
	t := *nt
	name := []string{nt.Name}
	// The same name written out or left out may build another stage: a stage
	// left out falls back to the last one when none has the target's name.
	if stage := join(field, "stage"); ot.Stage != nt.Stage || d.old.Set(stage) != d.new.Set(stage) {
		d.add(stage, Changed, Rebuild, name)
	}
	if !slices.Equal(ot.Only, nt.Only) {
		d.add(join(field, "only"), presence(ot.Only != nil, nt.Only != nil), Rebuild, name)
	}
	if ot.Output != nt.Output {
		d.add(join(field, "output"), Changed, NotLive, nil)
		t.Output = ot.Output
	}
	// A build argument the project-wide change already reports is not repeated.
	for _, k := range changedKeys(ot.BuildArgs, nt.BuildArgs) {
		if !slices.Contains(changedKeys(d.old.BuildArgs, d.new.BuildArgs), k) {
			d.add(join(join(field, "build_args"), k), presenceIn(ot.BuildArgs, nt.BuildArgs, k), Rebuild, name)
		}
	}
	if ot.DevTransform != nt.DevTransform && d.old.DevTransform == d.new.DevTransform {
		d.add(join(field, "dev_transform"), Changed, Rebuild, name)
	}
	if !slices.Equal(ot.Cache.From, nt.Cache.From) && slices.Equal(d.old.Cache.From, d.new.Cache.From) {
		d.add(join(field, "cache.from"), Changed, Apply, nil)
	}
	if !slices.Equal(ot.Cache.To, nt.Cache.To) && slices.Equal(d.old.Cache.To, d.new.Cache.To) {
		d.add(join(field, "cache.to"), Changed, Apply, nil)
	}

	d.platform(field, ot, nt, &t)

	run := join(field, "run")
	switch {
	case ot.Run == nil && nt.Run == nil:
	case ot.Run == nil || nt.Run == nil:
		// The loop and the supervisors know which targets run a process.
		d.add(run, presence(ot.Run != nil, nt.Run != nil), NotLive, nil)
		t.Run = ot.Run
	default:
		o, n := ot.Run, nt.Run
		for _, c := range []struct {
			key     string
			changed bool
		}{
			{"command", !slices.Equal(o.Command, n.Command)},
			{"env", !maps.Equal(o.Env, n.Env)},
			{"dir", o.Dir != n.Dir},
			{"stop_signal", o.StopSignal != n.StopSignal},
			{"stop_timeout", o.StopTimeout != n.StopTimeout},
			{"ready", o.Ready != n.Ready},
		} {
			if c.changed {
				d.add(join(run, c.key), Changed, RestartProcess, name)
			}
		}
	}
	return &t
}

// reached returns the names of the targets in both versions whose value of key
// differs between them, sorted.
func (d *differ) reached(key func(*Target) any) []string {
	var names []string
	for _, name := range slices.Sorted(maps.Keys(d.new.Targets)) {
		ot, ok := d.old.Targets[name]
		if ok && !reflect.DeepEqual(key(ot), key(d.new.Targets[name])) {
			names = append(names, name)
		}
	}
	return names
}

// changedKeys returns the keys whose value or presence differs, sorted.
func changedKeys[V comparable](a, b map[string]V) []string {
	var keys []string
	for _, k := range unionKeys(a, b) {
		va, inA := a[k]
		vb, inB := b[k]
		if inA != inB || va != vb {
			keys = append(keys, k)
		}
	}
	return keys
}

func unionKeys[V any](a, b map[string]V) []string {
	set := maps.Clone(a)
	if set == nil {
		set = map[string]V{}
	}
	maps.Copy(set, b)
	return slices.Sorted(maps.Keys(set))
}

func presence(before, after bool) Op {
	switch {
	case !before && after:
		return Added
	case before && !after:
		return Removed
	}
	return Changed
}

func presenceIn[V any](a, b map[string]V, k string) Op {
	_, inA := a[k]
	_, inB := b[k]
	return presence(inA, inB)
}
