package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const schemaPath = "../schema/devloop.schema.json"

// loadSchema reads the JSON Schema as generic JSON.
func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("read schema: %v", err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("parse schema %s: %v", schemaPath, err)
	}
	return s
}

// deref follows a local "$ref" to the definition it names.
func deref(t *testing.T, root, s map[string]any) map[string]any {
	t.Helper()
	ref, ok := s["$ref"].(string)
	if !ok {
		return s
	}
	def, ok := lookup(root, strings.Split(strings.TrimPrefix(ref, "#/"), "/")...).(map[string]any)
	if !ok {
		t.Fatalf("schema $ref %q does not resolve to an object", ref)
	}
	return deref(t, root, def)
}

// lookup walks nested JSON objects by key.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// schemaTypes returns the schema's "type" as a list.
func schemaTypes(s map[string]any) []string {
	switch t := s["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var ts []string
		for _, v := range t {
			ts = append(ts, fmt.Sprint(v))
		}
		return ts
	}
	return nil
}

// TestSchemaMatchesGoTypes checks, recursively, that the schema has a
// property for every Go field (by yaml tag) and no others, with matching types.
func TestSchemaMatchesGoTypes(t *testing.T) {
	root := loadSchema(t)
	checkSchemaType(t, root, "(root)", reflect.TypeFor[Config](), root)
}

func checkSchemaType(t *testing.T, root map[string]any, path string, typ reflect.Type, s map[string]any) {
	t.Helper()
	if typ == reflect.TypeFor[time.Duration]() {
		if got := s["$ref"]; got != "#/$defs/duration" {
			t.Errorf("%s: $ref = %v, want #/$defs/duration for a time.Duration", path, got)
		}
		return
	}
	s = deref(t, root, s)
	wantType := map[reflect.Kind]string{
		reflect.Struct: "object", reflect.Map: "object", reflect.Slice: "array",
		reflect.String: "string", reflect.Bool: "boolean",
	}
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if want, ok := wantType[typ.Kind()]; !ok {
		t.Fatalf("%s: unexpected Go kind %s", path, typ.Kind())
	} else if got := schemaTypes(s); !slices.Contains(got, want) {
		t.Errorf("%s: schema type = %v, want it to include %q for Go %s", path, got, want, typ)
	}
	switch typ.Kind() {
	case reflect.Struct:
		if got := s["additionalProperties"]; got != false {
			t.Errorf("%s: additionalProperties = %v, want false", path, got)
		}
		props, _ := s["properties"].(map[string]any)
		var goKeys []string
		for f := range typ.Fields() {
			yamlTag, jsonTag := f.Tag.Get("yaml"), f.Tag.Get("json")
			if yamlTag != jsonTag {
				t.Errorf("%s.%s: yaml tag %q != json tag %q", typ.Name(), f.Name, yamlTag, jsonTag)
			}
			if yamlTag == "-" {
				continue
			}
			goKeys = append(goKeys, yamlTag)
			sub, ok := props[yamlTag].(map[string]any)
			if !ok {
				t.Errorf("%s: schema has no property %q for Go field %s.%s", path, yamlTag, typ.Name(), f.Name)
				continue
			}
			checkSchemaType(t, root, strings.TrimPrefix(path+"."+yamlTag, "(root)."), f.Type, sub)
		}
		for key := range props {
			if !slices.Contains(goKeys, key) {
				t.Errorf("%s: schema property %q has no Go field in %s", path, key, typ.Name())
			}
		}
	case reflect.Map:
		sub, ok := s["additionalProperties"].(map[string]any)
		if !ok {
			t.Errorf("%s: additionalProperties = %v, want a schema for Go %s", path, s["additionalProperties"], typ)
			return
		}
		checkSchemaType(t, root, path+".*", typ.Elem(), sub)
	case reflect.Slice:
		sub, ok := s["items"].(map[string]any)
		if !ok {
			t.Errorf("%s: items = %v, want a schema for Go %s", path, s["items"], typ)
			return
		}
		checkSchemaType(t, root, path+"[]", typ.Elem(), sub)
	}
}

// TestSchemaDefaults checks that the defaults documented in the schema are
// the ones Parse applies.
func TestSchemaDefaults(t *testing.T) {
	root := loadSchema(t)
	target := []string{"properties", "targets", "additionalProperties", "properties"}
	run := append(slices.Clone(target), "run", "properties")
	tests := []struct {
		path []string
		want any
	}{
		{[]string{"properties", "context", "default"}, DefaultContext},
		{[]string{"properties", "dockerfile", "default"}, DefaultDockerfile},
		{append(slices.Clone(target), "output", "default"), DefaultOutput},
		{append(slices.Clone(run), "stop_signal", "default"), DefaultStopSignal},
		{append(slices.Clone(run), "stop_timeout", "default"), DefaultStopTimeout.String()},
		{[]string{"properties", "watch", "properties", "debounce", "default"}, DefaultDebounce.String()},
		{[]string{"properties", "watch", "properties", "max_wait", "default"}, DefaultMaxWait.String()},
		{[]string{"properties", "watch", "properties", "on_busy", "default"}, DefaultOnBusy},
	}
	for _, tt := range tests {
		if got := lookup(root, tt.path...); got != tt.want {
			t.Errorf("schema %s = %v, want %v", strings.Join(tt.path, "."), got, tt.want)
		}
	}
}

// TestSchemaEnums checks the schema's enums against what Parse accepts.
func TestSchemaEnums(t *testing.T) {
	root := loadSchema(t)
	onBusy := lookup(root, "properties", "watch", "properties", "on_busy", "enum")
	if want := []any{OnBusyRestart, OnBusyQueue}; !reflect.DeepEqual(onBusy, want) {
		t.Errorf("schema on_busy enum = %v, want %v", onBusy, want)
	}

	signals, _ := lookup(root, "properties", "targets", "additionalProperties", "properties", "run", "properties", "stop_signal", "enum").([]any)
	normalized := map[string]bool{}
	for _, v := range signals {
		data := fmt.Sprintf("targets: {a: {run: {command: [x], stop_signal: %v}}}", v)
		c, err := Parse("devloop.yaml", []byte(data), testDir, testGrammars)
		if err != nil {
			t.Errorf("schema stop_signal %v: Parse() error = %v", v, err)
			continue
		}
		normalized[c.Targets["a"].Run.StopSignal] = true
	}
	for _, sig := range stopSignals {
		if !normalized[sig] {
			t.Errorf("schema stop_signal enum %v lacks %s", signals, sig)
		}
	}
}

// TestSchemaDurationPattern checks that the schema's duration pattern accepts
// exactly the non-negative, unsigned strings time.ParseDuration accepts.
func TestSchemaDurationPattern(t *testing.T) {
	pattern, _ := lookup(loadSchema(t), "$defs", "duration", "anyOf").([]any)
	if len(pattern) == 0 {
		t.Fatal("schema $defs.duration has no anyOf")
	}
	re, err := regexp.Compile(fmt.Sprint(lookup(pattern[0], "pattern")))
	if err != nil {
		t.Fatalf("compile duration pattern: %v", err)
	}
	for _, s := range []string{
		"0", "0s", "50ms", "1.5s", "1m30s", ".5s", "1.s", "2h45m", "1h2m3s4ms5us6ns", "1µs", "1μs",
		"", "5x", "50", "-1s", "+1s", "1", "s", ".s", "1.5", "1 s", "1S", "0.0",
	} {
		d, err := time.ParseDuration(s)
		want := err == nil && d >= 0 && !strings.ContainsAny(s[:min(1, len(s))], "+-")
		if got := re.MatchString(s); got != want {
			t.Errorf("duration pattern matches %q = %v, want %v (ParseDuration: %v, %v)", s, got, want, d, err)
		}
	}
}

// schemaExamples are configs that both the Go loader and the schema must
// accept (valid) or both reject. Purely semantic checks that the schema
// cannot express (output inside the project, max_wait >= debounce, glob
// syntax) are covered by TestParseErrors instead.
var schemaExamples = []struct {
	name  string
	yaml  string
	valid bool
}{
	{"minimal", "targets: {server: {run: {command: [bin/server]}}}", true},
	{"target with defaults only", "targets:\n  server:\n", true},
	{"full", `
builder:
  address: tcp://buildkitd:1234
  tls: {ca: ca.pem, cert: cert.pem, key: key.pem, server_name: buildkitd}
  insecure: false
context: .
dockerfile: Dockerfile
build_args: {APP_VERSION: dev, CGO_ENABLED: 0}
cache: {from: ["type=registry,ref=example.com/app:cache"], to: ["type=local,dest=.cache"]}
secrets:
  npmrc: {file: ~/.npmrc}
  token: {env: GITHUB_TOKEN}
targets:
  server:
    stage: server
    output: .
    build_args: {GOARCH: amd64}
    cache: {from: [], to: ["type=inline"]}
    run:
      command: [bin/server, --port, "3000"]
      env: {LOG_LEVEL: debug}
      dir: .
      stop_signal: SIGTERM
      stop_timeout: 5s
      ready: http://127.0.0.1:3000/
  client: {output: bin/client}
watch:
  ignore: ["**/*.md", "docs/**"]
  debounce: 50ms
  max_wait: 2s
  on_busy: restart
`, true},
	{"builder auto", "builder: {address: auto}\ntargets: {a: }", true},
	{"docker-container builder", "builder: {address: 'docker-container://buildx_buildkit_default'}\ntargets: {a: }", true},
	{"tcp ready probe", "targets: {a: {run: {command: [x], ready: 'tcp://127.0.0.1:5432'}}}", true},
	{"zero debounce", "targets: {a: }\nwatch: {debounce: 0}", true},
	{"lowercase signal", "targets: {a: {run: {command: [x], stop_signal: term}}}", true},

	{"missing targets", "watch: {debounce: 1s}", false},
	{"empty targets", "targets: {}", false},
	{"unknown top-level key", "targets: {a: }\ntarget: {}", false},
	{"unknown target key", "targets: {a: {stag: x}}", false},
	{"unknown run key", "targets: {a: {run: {command: [x], cmd: [x]}}}", false},
	{"unknown watch key", "targets: {a: }\nwatch: {ignored: []}", false},
	{"unknown builder key", "builder: {host: x}\ntargets: {a: }", false},
	{"bad target name", "targets: {-a: }", false},
	{"bad duration", "targets: {a: }\nwatch: {debounce: 5x}", false},
	{"duration without unit", "targets: {a: }\nwatch: {max_wait: 50}", false},
	{"bad on_busy", "targets: {a: }\nwatch: {on_busy: wait}", false},
	{"bad signal", "targets: {a: {run: {command: [x], stop_signal: SIGSTOP}}}", false},
	{"command as a string", "targets: {a: {run: {command: bin/server}}}", false},
	{"empty command", "targets: {a: {run: {command: []}}}", false},
	{"run without command", "targets: {a: {run: {env: {A: b}}}}", false},
	{"build arg list", "build_args: {A: [x]}\ntargets: {a: }", false},
	{"secret with both", "secrets: {s: {file: f, env: E}}\ntargets: {a: }", false},
	{"secret with neither", "secrets: {s: {}}\ntargets: {a: }", false},
	{"tls cert without key", "builder: {address: 'tcp://b:1', tls: {cert: c}}\ntargets: {a: }", false},
	{"cache spec without type", "cache: {from: [ref=x]}\ntargets: {a: }", false},
	{"bad builder address", "builder: {address: 'http://b:1'}\ntargets: {a: }", false},
	{"bad ready", "targets: {a: {run: {command: [x], ready: 'ftp://x'}}}", false},
	{"insecure as string", "builder: {insecure: 'yes'}\ntargets: {a: }", false},
	{"empty stage", "targets: {a: {stage: ''}}", false},
}

func TestSchemaExamples(t *testing.T) {
	root := loadSchema(t)
	for _, tt := range schemaExamples {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("devloop.yaml", []byte(tt.yaml), testDir, testGrammars)
			if got := err == nil; got != tt.valid {
				t.Errorf("Parse() valid = %v, want %v (error: %v)", got, tt.valid, err)
			}
			var doc any
			if err := yaml.Unmarshal([]byte(tt.yaml), &doc); err != nil {
				t.Fatalf("yaml.Unmarshal() error = %v", err)
			}
			problems := validate(t, root, root, "", doc)
			if got := len(problems) == 0; got != tt.valid {
				t.Errorf("schema valid = %v, want %v (problems: %q)", got, tt.valid, problems)
			}
		})
	}
}

// TestSchemaOwnExamples loads the examples embedded in the schema with the
// Go loader; JSON is YAML, so they parse as written.
func TestSchemaOwnExamples(t *testing.T) {
	root := loadSchema(t)
	examples, _ := root["examples"].([]any)
	if len(examples) == 0 {
		t.Fatal("schema has no examples")
	}
	for i, ex := range examples {
		data, err := json.Marshal(ex)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse("devloop.yaml", data, testDir, testGrammars); err != nil {
			t.Errorf("schema examples[%d]: Parse() error = %v", i, err)
		}
		if problems := validate(t, root, root, "", ex); len(problems) > 0 {
			t.Errorf("schema examples[%d]: schema problems = %q, want none", i, problems)
		}
	}
}

// validate is a minimal JSON Schema validator for the keywords the devloop
// schema uses; it fails the test on any keyword it does not understand, so
// the schema cannot silently grow constraints these tests ignore.
func validate(t *testing.T, root, s map[string]any, path string, v any) []string {
	t.Helper()
	var problems []string
	fail := func(format string, args ...any) {
		problems = append(problems, path+": "+fmt.Sprintf(format, args...))
	}
	sub := func(s any, p string, v any) []string {
		m, ok := s.(map[string]any)
		if !ok {
			t.Fatalf("schema at %s: subschema %v is not an object", path, s)
		}
		return validate(t, root, m, p, v)
	}
	obj, isObj := v.(map[string]any)
	for _, kw := range slices.Sorted(maps.Keys(s)) {
		arg := s[kw]
		switch kw {
		case "$schema", "$id", "$defs", "title", "description", "default", "examples":
		case "$ref":
			problems = append(problems, validate(t, root, deref(t, root, map[string]any{"$ref": arg}), path, v)...)
		case "type":
			if !slices.ContainsFunc(schemaTypes(s), func(typ string) bool { return jsonType(v, typ) }) {
				fail("type %T, want %v", v, arg)
			}
		case "enum":
			if !slices.ContainsFunc(arg.([]any), func(e any) bool { return equalJSON(e, v) }) {
				fail("%v not in enum %v", v, arg)
			}
		case "const":
			if !equalJSON(arg, v) {
				fail("%v != const %v", v, arg)
			}
		case "pattern":
			if str, ok := v.(string); ok && !regexp.MustCompile(arg.(string)).MatchString(str) {
				fail("%q does not match %s", str, arg)
			}
		case "minLength":
			if str, ok := v.(string); ok && float64(len([]rune(str))) < arg.(float64) {
				fail("%q shorter than %v", str, arg)
			}
		case "minItems":
			if arr, ok := v.([]any); ok && float64(len(arr)) < arg.(float64) {
				fail("fewer than %v items", arg)
			}
		case "items":
			if arr, ok := v.([]any); ok {
				start := 0
				if prefix, ok := s["prefixItems"].([]any); ok {
					start = len(prefix)
				}
				for i := start; i < len(arr); i++ {
					problems = append(problems, sub(arg, fmt.Sprintf("%s[%d]", path, i), arr[i])...)
				}
			}
		case "prefixItems":
			if arr, ok := v.([]any); ok {
				for i, ps := range arg.([]any) {
					if i < len(arr) {
						problems = append(problems, sub(ps, fmt.Sprintf("%s[%d]", path, i), arr[i])...)
					}
				}
			}
		case "minProperties":
			if isObj && float64(len(obj)) < arg.(float64) {
				fail("fewer than %v properties", arg)
			}
		case "required":
			for _, r := range arg.([]any) {
				if _, ok := obj[r.(string)]; isObj && !ok {
					fail("missing required %q", r)
				}
			}
		case "dependentRequired":
			for k, deps := range arg.(map[string]any) {
				if _, ok := obj[k]; !isObj || !ok {
					continue
				}
				for _, dep := range deps.([]any) {
					if _, ok := obj[dep.(string)]; !ok {
						fail("%q requires %q", k, dep)
					}
				}
			}
		case "properties":
			props := arg.(map[string]any)
			for k, pv := range obj {
				if ps, ok := props[k]; ok {
					problems = append(problems, sub(ps, strings.TrimPrefix(path+"."+k, "."), pv)...)
				}
			}
		case "additionalProperties":
			props, _ := s["properties"].(map[string]any)
			for k, pv := range obj {
				if _, ok := props[k]; ok {
					continue
				}
				if arg == false {
					fail("unknown property %q", k)
				} else {
					problems = append(problems, sub(arg, strings.TrimPrefix(path+"."+k, "."), pv)...)
				}
			}
		case "propertyNames":
			for k := range obj {
				problems = append(problems, sub(arg, path+"."+k+"(name)", k)...)
			}
		case "oneOf", "anyOf":
			matched := 0
			for _, alt := range arg.([]any) {
				if len(sub(alt, path, v)) == 0 {
					matched++
				}
			}
			if matched == 0 || kw == "oneOf" && matched != 1 {
				fail("%s matched %d alternatives", kw, matched)
			}
		default:
			t.Fatalf("schema at %s: validator does not support keyword %q", path, kw)
		}
	}
	sort.Strings(problems)
	return problems
}

// jsonType reports whether v, as decoded from YAML, is of the JSON Schema type typ.
func jsonType(v any, typ string) bool {
	switch v := v.(type) {
	case nil:
		return typ == "null"
	case bool:
		return typ == "boolean"
	case string:
		return typ == "string"
	case int:
		return typ == "integer" || typ == "number"
	case float64:
		return typ == "number" || typ == "integer" && v == math.Trunc(v)
	case []any:
		return typ == "array"
	case map[string]any:
		return typ == "object"
	}
	return false
}

// equalJSON compares JSON-ish values, treating numbers by value.
func equalJSON(a, b any) bool {
	num := func(v any) (float64, bool) {
		switch n := v.(type) {
		case int:
			return float64(n), true
		case float64:
			return n, true
		}
		return 0, false
	}
	if x, ok := num(a); ok {
		y, ok := num(b)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}
