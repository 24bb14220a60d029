package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
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

// compileSchema compiles the schema with a JSON Schema 2020-12 validator (the one
// compose-go uses); compiling also validates the schema against its metaschema.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	schema, err := jsonschema.NewCompiler().Compile(schemaPath)
	if err != nil {
		t.Fatalf("compile schema %s: %v", schemaPath, err)
	}
	return schema
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
	{"only", "targets: {a: {only: [web/dist, package.json]}}", true},
	{"only empty", "targets: {a: {only: []}}", false},
	{"only with a glob", "targets: {a: {only: ['web/*.js']}}", false},
	{"only absolute", "targets: {a: {only: [/web]}}", false},
	{"only outside", "targets: {a: {only: [../web]}}", false},
}

func TestSchemaExamples(t *testing.T) {
	schema := compileSchema(t)
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
			err = schema.Validate(doc)
			if got := err == nil; got != tt.valid {
				t.Errorf("schema valid = %v, want %v (problems: %v)", got, tt.valid, err)
			}
		})
	}
}

// TestSchemaOwnExamples loads the examples embedded in the schema with the
// Go loader; JSON is YAML, so they parse as written.
func TestSchemaOwnExamples(t *testing.T) {
	root := loadSchema(t)
	schema := compileSchema(t)
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
		if err := schema.Validate(ex); err != nil {
			t.Errorf("schema examples[%d]: schema problems = %v, want none", i, err)
		}
	}
}

// TestSchemaRepoConfigs validates the configs the repository ships — its own
// devloop.yaml and every complete devloop.yaml (one with targets) in the README — with
// the Go loader and the schema.
func TestSchemaRepoConfigs(t *testing.T) {
	schema := compileSchema(t)
	configs := map[string]string{}
	data, err := os.ReadFile("../devloop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	configs["devloop.yaml"] = string(data)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for i, block := range regexp.MustCompile("(?ms)^ *```yaml\n(.*?)^ *```").FindAllStringSubmatch(string(readme), -1) {
		if regexp.MustCompile(`(?m)^targets:`).MatchString(block[1]) {
			configs[fmt.Sprintf("README.md yaml block %d", i+1)] = block[1]
		}
	}
	if len(configs) < 2 {
		t.Fatalf("found %d configs, want devloop.yaml and the README's quickstart", len(configs))
	}
	for name, config := range configs {
		if _, err := Parse("devloop.yaml", []byte(config), testDir, testGrammars); err != nil {
			t.Errorf("%s: Parse() error = %v", name, err)
		}
		var doc any
		if err := yaml.Unmarshal([]byte(config), &doc); err != nil {
			t.Fatalf("%s: yaml.Unmarshal() error = %v", name, err)
		}
		if err := schema.Validate(doc); err != nil {
			t.Errorf("%s: schema problems = %v, want none", name, err)
		}
	}
}

// schemaKeywords are the keywords of JSON Schema 2020-12 (core, applicator,
// unevaluated, validation, meta-data, format and content vocabularies).
var schemaKeywords = map[string]bool{
	"$schema": true, "$id": true, "$ref": true, "$defs": true, "$comment": true, "$anchor": true,
	"$dynamicRef": true, "$dynamicAnchor": true, "$vocabulary": true,
	"allOf": true, "anyOf": true, "oneOf": true, "not": true, "if": true, "then": true, "else": true,
	"dependentSchemas": true, "prefixItems": true, "items": true, "contains": true, "properties": true,
	"patternProperties": true, "additionalProperties": true, "propertyNames": true,
	"unevaluatedItems": true, "unevaluatedProperties": true,
	"type": true, "enum": true, "const": true, "multipleOf": true, "maximum": true, "exclusiveMaximum": true,
	"minimum": true, "exclusiveMinimum": true, "maxLength": true, "minLength": true, "pattern": true,
	"maxItems": true, "minItems": true, "uniqueItems": true, "maxContains": true, "minContains": true,
	"maxProperties": true, "minProperties": true, "required": true, "dependentRequired": true,
	"title": true, "description": true, "default": true, "deprecated": true, "readOnly": true,
	"writeOnly": true, "examples": true, "format": true,
	"contentEncoding": true, "contentMediaType": true, "contentSchema": true,
}

// TestSchemaKeywords checks that every keyword in the schema is one JSON Schema
// defines: validators ignore unknown keywords, so a misspelt one would silently drop
// its constraint.
func TestSchemaKeywords(t *testing.T) {
	checkKeywords(t, "#", loadSchema(t))
}

func checkKeywords(t *testing.T, path string, s any) {
	t.Helper()
	obj, ok := s.(map[string]any)
	if !ok {
		return // a boolean schema
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !schemaKeywords[k] {
			t.Errorf("%s: %q is not a JSON Schema 2020-12 keyword", path, k)
		}
		switch v := obj[k]; k {
		case "$defs", "properties", "patternProperties", "dependentSchemas":
			subs, _ := v.(map[string]any)
			for _, name := range slices.Sorted(maps.Keys(subs)) {
				checkKeywords(t, path+"/"+k+"/"+name, subs[name])
			}
		case "allOf", "anyOf", "oneOf", "prefixItems":
			subs, _ := v.([]any)
			for i, sub := range subs {
				checkKeywords(t, fmt.Sprintf("%s/%s/%d", path, k, i), sub)
			}
		case "not", "if", "then", "else", "items", "contains", "additionalProperties", "propertyNames",
			"unevaluatedItems", "unevaluatedProperties", "contentSchema":
			checkKeywords(t, path+"/"+k, v)
		}
	}
}
