package rebuild

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// envVar is a variable of a build step's environment: a value, or why the value is
// unknown. Unset marks a variable the Dockerfile declares without a value (an ARG
// with no default and no build arg): the step's environment lacks it, and
// referencing it is unknown.
type envVar struct {
	value string
	why   string
	unset bool
}

func (v envVar) known() bool { return v.why == "" && !v.unset }

// varEnv maps variable names to their values.
type varEnv map[string]envVar

func (e varEnv) clone() varEnv {
	out := make(varEnv, len(e))
	for k, v := range e {
		out[k] = v
	}
	return out
}

// reason says why the variable name has no known value; "" when it is simply not
// set by the Dockerfile.
func (e varEnv) reason(name string) string {
	return e[name].why
}

// shWord is a word of a command line after expansion; why says why it is unknown.
type shWord struct {
	text string // the expanded text; "" when unknown
	raw  string // as written
	why  string
}

// goCall is a `go` command a RUN runs, as far as the shell analysis followed it.
type goCall struct {
	args   []shWord // after "go"
	env    varEnv   // its environment: exported variables and inline assignments
	dir    string   // its working directory (container path)
	dirWhy string   // non-empty: the working directory is unknown
}

// shellFacts is what a RUN's scripts do that matters to the target's inputs.
type shellFacts struct {
	goCalls   []goCall
	reads     []string // container paths read
	writes    []string // container paths written
	readsAll  string   // non-empty: a command may read any file it sees (why)
	writesAll string   // non-empty: a command may write anywhere (why)
	unknown   string   // non-empty: the scripts cannot be followed (why)
}

func (f *shellFacts) setUnknown(why string) {
	if f.unknown == "" {
		f.unknown = why
	}
}

// opaque records a command devloop does not know: it may read what it sees and
// write anywhere.
func (f *shellFacts) opaque(why string) {
	if f.readsAll == "" {
		f.readsAll = why
	}
	if f.writesAll == "" {
		f.writesAll = why
	}
}

// shState is the shell's state while a script runs.
type shState struct {
	vars      varEnv
	exported  map[string]bool
	allExport bool // set -a
	dir       string
	dirWhy    string
	funcs     map[string][]*syntax.Stmt
}

func newShState(env varEnv, dir, dirWhy string) *shState {
	st := &shState{vars: env.clone(), exported: map[string]bool{}, dir: dir, dirWhy: dirWhy, funcs: map[string][]*syntax.Stmt{}}
	for k := range env {
		st.exported[k] = true
	}
	return st
}

func (s *shState) clone() *shState {
	c := *s
	c.vars = s.vars.clone()
	c.exported = make(map[string]bool, len(s.exported))
	for k, v := range s.exported {
		c.exported[k] = v
	}
	c.funcs = make(map[string][]*syntax.Stmt, len(s.funcs))
	for k, v := range s.funcs {
		c.funcs[k] = v
	}
	return &c
}

// merge makes s the state after one of the alternatives ran: what they agree on
// stays, the rest becomes unknown.
func (s *shState) merge(why string, alts ...*shState) {
	names := map[string]bool{}
	for _, a := range alts {
		for k := range a.vars {
			names[k] = true
		}
	}
	for k := range names {
		first, ok := alts[0].vars[k]
		same := true
		for _, a := range alts[1:] {
			if v, ok2 := a.vars[k]; ok2 != ok || v != first {
				same = false
			}
		}
		switch {
		case same && ok:
			s.vars[k] = first
		case same:
			delete(s.vars, k)
		default:
			s.vars[k] = envVar{why: fmt.Sprintf("$%s is set %s", k, why)}
		}
		s.exported[k] = s.exported[k] || alts[0].exported[k]
	}
	s.dir, s.dirWhy = alts[0].dir, alts[0].dirWhy
	for _, a := range alts[1:] {
		if a.dir != s.dir || a.dirWhy != s.dirWhy {
			s.dirWhy = "the working directory changes " + why
		}
	}
}

// environ is the exported environment a command started now gets.
func (s *shState) environ() varEnv {
	env := varEnv{}
	for k, v := range s.vars {
		if s.exported[k] {
			env[k] = v
		}
	}
	return env
}

// resolvePath makes a command's path argument absolute; why is set when it cannot.
func (s *shState) resolvePath(w shWord) (string, string) {
	switch {
	case w.why != "":
		return "", w.raw + " " + w.why
	case path.IsAbs(w.text):
		return path.Clean(w.text), ""
	case s.dirWhy != "":
		return "", s.dirWhy
	}
	return containerPath(s.dir, w.text), ""
}

// Commands by what they do to the context's files.
var (
	// noFileCommands read no file named on their command line.
	noFileCommands = nameSet("apk", "apt-get", "apt", "yum", "dnf", "microdnf", "zypper", "adduser", "addgroup",
		"useradd", "groupadd", "usermod", "echo", "printf", "true", "false", ":", "sleep", "exit", "return",
		"shift", "wait", "trap", "umask", "ulimit", "id", "whoami", "uname", "date", "hostname", "hash",
		"type", "which", "mkdir", "chmod", "chown", "chgrp", "rm", "rmdir", "touch", "update-ca-certificates")
	// readCommands read the files named on their command line.
	readCommands = nameSet("cat", "ls", "sha256sum", "sha1sum", "md5sum", "head", "tail", "wc",
		"file", "stat", "du", "readlink", "realpath", "cmp", "diff", "grep")
	// testOperators are test(1)'s words that are no path.
	testOperators = nameSet("]", "!", "=", "!=", "-a", "-o", "(", ")", "-eq", "-ne", "-lt", "-le", "-gt", "-ge")
	// copyCommands read and write the files named on their command line.
	copyCommands = nameSet("cp", "mv", "ln", "install", "tar", "unzip", "gzip", "gunzip", "strip", "upx")
	// wrapperCommands run the command that follows them.
	wrapperCommands = nameSet("exec", "nohup", "time", "command")
)

func nameSet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// maxShellDepth bounds sh -c nesting and function calls.
const maxShellDepth = 8

// shellWalker follows a script.
type shellWalker struct {
	facts *shellFacts
	depth int
}

// analyzeShell follows script, run by /bin/sh -c with env in dir, into facts.
func analyzeShell(facts *shellFacts, script string, st *shState, depth int) {
	if depth > maxShellDepth {
		facts.setUnknown("shell scripts nest too deeply")
		return
	}
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(script), "")
	if err != nil {
		facts.setUnknown(fmt.Sprintf("the shell script does not parse: %v", err))
		facts.opaque("a script that does not parse")
		return
	}
	w := &shellWalker{facts: facts, depth: depth}
	w.stmts(f.Stmts, st)
}

func (w *shellWalker) stmts(list []*syntax.Stmt, st *shState) {
	for _, s := range list {
		w.stmt(s, st)
	}
}

func (w *shellWalker) stmt(s *syntax.Stmt, st *shState) {
	for _, r := range s.Redirs {
		w.redirect(r, st)
	}
	if s.Background || s.Coprocess {
		w.command(s.Cmd, st.clone())
		return
	}
	w.command(s.Cmd, st)
}

func (w *shellWalker) redirect(r *syntax.Redirect, st *shState) {
	if r.Word == nil {
		return
	}
	var list *[]string
	switch r.Op {
	case syntax.RdrIn, syntax.RdrInOut:
		list = &w.facts.reads
	case syntax.RdrOut, syntax.AppOut, syntax.RdrClob, syntax.RdrAll, syntax.AppAll:
		list = &w.facts.writes
	default:
		return
	}
	p, why := st.resolvePath(w.word(r.Word, st))
	if why != "" {
		w.facts.opaque("a redirection to " + why)
		return
	}
	*list = append(*list, p)
}

func (w *shellWalker) command(c syntax.Command, st *shState) {
	switch c := c.(type) {
	case nil:
	case *syntax.CallExpr:
		var fields []shWord
		for _, word := range c.Args {
			fields = append(fields, w.fields(word, st)...)
		}
		w.call(fields, c.Assigns, st)
	case *syntax.DeclClause:
		w.declare(c.Variant.Value, c.Args, st)
	case *syntax.BinaryCmd:
		switch c.Op {
		case syntax.AndStmt:
			w.stmt(c.X, st)
			w.stmt(c.Y, st)
		case syntax.OrStmt:
			w.stmt(c.X, st)
			alt := st.clone()
			w.stmt(c.Y, alt)
			st.merge("after ||", st.clone(), alt)
		default: // pipes: every part runs in a subshell
			w.stmt(c.X, st.clone())
			w.stmt(c.Y, st.clone())
		}
	case *syntax.Subshell:
		w.stmts(c.Stmts, st.clone())
	case *syntax.Block:
		w.stmts(c.Stmts, st)
	case *syntax.IfClause:
		var alts []*shState
		for clause := c; clause != nil; clause = clause.Else {
			w.stmts(clause.Cond, st)
			alt := st.clone()
			w.stmts(clause.Then, alt)
			alts = append(alts, alt)
			if clause.Else == nil && len(clause.Cond) > 0 {
				alts = append(alts, st.clone()) // no branch taken
			}
		}
		st.merge("in an if", alts...)
	case *syntax.WhileClause:
		body := st.clone()
		w.stmts(c.Cond, body)
		w.stmts(c.Do, body)
		st.merge("in a loop", st.clone(), body)
	case *syntax.ForClause:
		body := st.clone()
		if it, ok := c.Loop.(*syntax.WordIter); ok && it.Name != nil {
			body.vars[it.Name.Value] = envVar{why: fmt.Sprintf("$%s is a loop variable", it.Name.Value)}
		}
		w.stmts(c.Do, body)
		st.merge("in a loop", st.clone(), body)
	case *syntax.CaseClause:
		alts := []*shState{st.clone()}
		for _, item := range c.Items {
			alt := st.clone()
			w.stmts(item.Stmts, alt)
			alts = append(alts, alt)
		}
		st.merge("in a case", alts...)
	case *syntax.FuncDecl:
		if c.Name != nil {
			st.funcs[c.Name.Value] = []*syntax.Stmt{c.Body}
		}
	case *syntax.TimeClause:
		if c.Stmt != nil {
			w.stmt(c.Stmt, st)
		}
	case *syntax.ArithmCmd, *syntax.TestClause, *syntax.LetClause:
		// [[ ]] and (( )) tests read no file devloop needs to know of.
	default:
		w.facts.setUnknown(fmt.Sprintf("the shell construct %T is not followed", c))
		w.facts.opaque("an unfollowed shell construct")
	}
}

// declare handles export/readonly/declare/local/typeset NAME[=VALUE]….
func (w *shellWalker) declare(variant string, args []*syntax.Assign, st *shState) {
	for _, a := range args {
		if a.Name == nil {
			continue // an option such as -x
		}
		name := a.Name.Value
		if !a.Naked {
			w.assign(a, st)
		}
		if variant == "export" || st.allExport {
			st.exported[name] = true
		}
	}
}

// assign performs NAME=VALUE in st.
func (w *shellWalker) assign(a *syntax.Assign, st *shState) {
	name := a.Name.Value
	switch {
	case a.Array != nil || a.Index != nil:
		st.vars[name] = envVar{why: fmt.Sprintf("$%s is an array", name)}
	case a.Append:
		old, ok := st.vars[name]
		v := w.word(a.Value, st)
		if !ok || !old.known() || v.why != "" {
			st.vars[name] = envVar{why: fmt.Sprintf("$%s is appended to", name)}
		} else {
			st.vars[name] = envVar{value: old.value + v.text}
		}
	default:
		v := w.word(a.Value, st)
		st.vars[name] = envVar{value: v.text, why: wordWhy(v)}
	}
	if st.allExport {
		st.exported[name] = true
	}
}

func wordWhy(v shWord) string {
	if v.why == "" {
		return ""
	}
	return v.raw + " " + v.why
}

// call runs a simple command: fields after expansion, with inline assignments.
func (w *shellWalker) call(fields []shWord, assigns []*syntax.Assign, st *shState) {
	if len(fields) == 0 {
		for _, a := range assigns {
			w.assign(a, st)
		}
		return
	}
	env := st.environ()
	inline := st.clone()
	for _, a := range assigns {
		w.assign(a, inline)
		env[a.Name.Value] = inline.vars[a.Name.Value]
	}
	w.run(fields, env, st)
}

// run dispatches a command by name.
func (w *shellWalker) run(fields []shWord, env varEnv, st *shState) {
	name := fields[0]
	if name.why != "" {
		w.facts.setUnknown(fmt.Sprintf("the command %s %s", name.raw, name.why))
		w.facts.opaque("a command whose name is unknown")
		return
	}
	args := fields[1:]
	switch base := path.Base(name.text); {
	case base == "cd":
		w.cd(args, st)
	case base == "export" || base == "readonly":
		for _, a := range args {
			k, v, ok := assignment(a.text)
			switch {
			case a.why != "" && strings.Contains(a.raw, "="):
				k, _, _ = strings.Cut(a.raw, "=")
				st.vars[k] = envVar{why: a.raw + " " + a.why}
				st.exported[k] = true
			case ok:
				st.vars[k] = envVar{value: v}
				st.exported[k] = true
			case identifier.MatchString(a.text):
				st.exported[a.text] = true
			}
		}
	case base == "unset":
		for _, a := range args {
			if !strings.HasPrefix(a.text, "-") {
				delete(st.vars, a.text)
				delete(st.exported, a.text)
			}
		}
	case base == "set":
		for _, a := range args {
			switch {
			case strings.HasPrefix(a.text, "-") && strings.Contains(a.text, "a"):
				st.allExport = true
			case strings.HasPrefix(a.text, "+") && strings.Contains(a.text, "a"):
				st.allExport = false
			}
		}
	case base == "." || base == "source" || base == "eval":
		why := fmt.Sprintf("%s runs a script devloop does not follow", base)
		for k := range st.vars {
			st.vars[k] = envVar{why: fmt.Sprintf("$%s may be changed by %s", k, base)}
		}
		st.dirWhy = why
		w.facts.opaque(why)
		w.facts.setUnknown(why)
	case wrapperCommands[base]:
		if len(args) > 0 && !strings.HasPrefix(args[0].text, "-") {
			w.run(args, env, st)
		}
	case base == "nice":
		for len(args) > 0 && strings.HasPrefix(args[0].text, "-") {
			if args[0].text == "-n" && len(args) > 1 {
				args = args[1:]
			}
			args = args[1:]
		}
		if len(args) > 0 {
			w.run(args, env, st)
		}
	case base == "env":
		w.env(args, env, st)
	case shells[base]:
		w.shell(name, args, env, st)
	case base == "go":
		w.goCommand(args, env, st)
	case st.funcs[base] != nil:
		if w.depth >= maxShellDepth {
			w.facts.setUnknown("shell functions nest too deeply")
			return
		}
		inner := &shellWalker{facts: w.facts, depth: w.depth + 1}
		inner.stmts(st.funcs[base], st)
	case noFileCommands[base]:
	case base == "test" || base == "[":
		var operands []shWord
		for _, a := range args {
			if a.why != "" || !testOperators[a.text] {
				operands = append(operands, a)
			}
		}
		w.paths(operands, st, &w.facts.reads)
	case readCommands[base]:
		w.paths(args, st, &w.facts.reads)
	case copyCommands[base]:
		w.paths(args, st, &w.facts.reads)
		w.paths(args, st, &w.facts.writes)
	default:
		w.facts.opaque(fmt.Sprintf("RUN runs %s, which may read any file it sees", base))
	}
}

func (w *shellWalker) cd(args []shWord, st *shState) {
	var dirs []shWord
	for _, a := range args {
		if a.why != "" || !strings.HasPrefix(a.text, "-") {
			dirs = append(dirs, a)
		}
	}
	if len(dirs) != 1 || dirs[0].text == "-" {
		st.dirWhy = "cd without one directory"
		return
	}
	p, why := st.resolvePath(dirs[0])
	st.dir, st.dirWhy = p, why
	if why != "" {
		st.dirWhy = "cd " + why
	}
}

// paths records the path arguments of a file command.
func (w *shellWalker) paths(args []shWord, st *shState, list *[]string) {
	for _, a := range args {
		if a.why == "" && strings.HasPrefix(a.text, "-") {
			continue
		}
		p, why := st.resolvePath(a)
		if why != "" {
			w.facts.opaque("a path " + why)
			continue
		}
		*list = append(*list, p)
	}
}

// env handles env [-i] [-u NAME] [NAME=VALUE]… COMMAND.
func (w *shellWalker) env(args []shWord, env varEnv, st *shState) {
	env = env.clone()
	for len(args) > 0 {
		a := args[0]
		switch {
		case a.why != "":
			w.facts.setUnknown(fmt.Sprintf("env argument %s %s", a.raw, a.why))
			return
		case a.text == "-i" || a.text == "-" || a.text == "--ignore-environment":
			env = varEnv{}
		case a.text == "-u" && len(args) > 1:
			delete(env, args[1].text)
			args = args[1:]
		case a.text == "--":
		case strings.HasPrefix(a.text, "-"):
			w.facts.setUnknown("env " + a.text + " is not followed")
			w.facts.opaque("env " + a.text)
			return
		default:
			if k, v, ok := assignment(a.text); ok {
				env[k] = envVar{value: v}
				break
			}
			w.run(args, env, st)
			return
		}
		args = args[1:]
	}
}

// shell handles sh -c SCRIPT: the script runs with the exported environment.
func (w *shellWalker) shell(name shWord, args []shWord, env varEnv, st *shState) {
	for i, a := range args {
		if a.why != "" || !strings.HasPrefix(a.text, "-") || strings.HasPrefix(a.text, "--") {
			break
		}
		if strings.Contains(a.text, "c") && i+1 < len(args) {
			script := args[i+1]
			if script.why != "" {
				w.facts.setUnknown(fmt.Sprintf("%s -c %s %s", name.text, script.raw, script.why))
				w.facts.opaque("a script that is unknown")
				return
			}
			analyzeShell(w.facts, script.text, newShState(env, st.dir, st.dirWhy), w.depth+1)
			return
		}
	}
	w.facts.opaque(fmt.Sprintf("RUN runs %s with a script file", name.text))
}

// goCommand records go build and go install, and what other go commands read.
func (w *shellWalker) goCommand(args []shWord, env varEnv, st *shState) {
	i := 0
	if len(args) > 1 && args[0].text == "-C" {
		i = 2
	}
	if i >= len(args) {
		return
	}
	sub := args[i]
	switch {
	case sub.why != "":
		w.facts.setUnknown(fmt.Sprintf("go %s %s", sub.raw, sub.why))
	case sub.text == "build" || sub.text == "install":
		w.facts.goCalls = append(w.facts.goCalls, goCall{args: args, env: env, dir: st.dir, dirWhy: st.dirWhy})
	case sub.text == "mod":
		if i+1 < len(args) {
			switch args[i+1].text {
			case "download", "verify", "graph", "why", "help":
				return // they read go.mod and go.sum, which every target depends on
			}
		}
		w.facts.opaque("RUN runs go mod")
	case sub.text == "env":
		for _, a := range args[i+1:] {
			if a.text == "-w" || a.text == "-u" {
				w.facts.setUnknown("go env " + a.text + " changes the go command's defaults")
			}
		}
	case sub.text == "version" || sub.text == "help":
	default:
		w.facts.opaque(fmt.Sprintf("RUN runs go %s, which may read any file it sees", sub.text))
	}
}

// errCommandSubstitution marks a word that runs a command.
var errCommandSubstitution = errors.New("runs a command")

// environ is the expand.Environ over a shell state; it records the first variable
// that has no known value, and why.
type environ struct {
	st      *shState
	missing bool
	reason  string
}

func (e *environ) Get(name string) expand.Variable {
	switch name {
	case "IFS":
		return expand.Variable{}
	case "PWD":
		if e.st.dirWhy == "" {
			return expand.Variable{Set: true, Kind: expand.String, Str: e.st.dir}
		}
	}
	if v, ok := e.st.vars[name]; ok && v.known() {
		return expand.Variable{Set: true, Exported: e.st.exported[name], Kind: expand.String, Str: v.value}
	}
	if !e.missing {
		e.missing, e.reason = true, e.st.vars.reason(name)
	}
	return expand.Variable{}
}

func (e *environ) Each(f func(string, expand.Variable) bool) {
	names := make([]string, 0, len(e.st.vars))
	for k := range e.st.vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if v := e.st.vars[k]; v.known() && !f(k, expand.Variable{Set: true, Exported: e.st.exported[k], Kind: expand.String, Str: v.value}) {
			return
		}
	}
}

func (w *shellWalker) config(st *shState, env *environ) *expand.Config {
	return &expand.Config{
		Env: env,
		CmdSubst: func(_ io.Writer, cs *syntax.CmdSubst) error {
			// The substituted command runs too: follow what it reads.
			inner := &shellWalker{facts: w.facts, depth: w.depth + 1}
			inner.stmts(cs.Stmts, st.clone())
			return errCommandSubstitution
		},
		ProcSubst: func(*syntax.ProcSubst) (string, error) { return "", errCommandSubstitution },
	}
}

// word expands a word without field splitting (assignments, redirections).
func (w *shellWalker) word(word *syntax.Word, st *shState) shWord {
	if word == nil {
		return shWord{}
	}
	env := &environ{st: st}
	text, err := expand.Literal(w.config(st, env), word)
	return result(word, text, err, env)
}

// fields expands a command word into fields. An unknown word stays one field.
func (w *shellWalker) fields(word *syntax.Word, st *shState) []shWord {
	env := &environ{st: st}
	fs, err := expand.Fields(w.config(st, env), word)
	if err != nil || env.missing {
		return []shWord{result(word, "", err, env)}
	}
	out := make([]shWord, len(fs))
	for i, f := range fs {
		out[i] = shWord{text: f, raw: printWord(word)}
	}
	return out
}

func result(word *syntax.Word, text string, err error, env *environ) shWord {
	raw := printWord(word)
	switch {
	case errors.Is(err, errCommandSubstitution):
		return shWord{raw: raw, why: "runs a command"}
	case err != nil:
		return shWord{raw: raw, why: "cannot be expanded: " + err.Error()}
	case env.missing && env.reason != "":
		return shWord{raw: raw, why: "has no value (" + env.reason + ")"}
	case env.missing:
		return shWord{raw: raw, why: "has no value"}
	}
	return shWord{text: text, raw: raw}
}

func printWord(word *syntax.Word) string {
	var b bytes.Buffer
	if err := syntax.NewPrinter().Print(&b, word); err != nil {
		return "?"
	}
	return b.String()
}
