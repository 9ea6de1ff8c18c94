package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// TransformFunc is a compiled transform: it rewrites one cell (already
// trimmed of surrounding white space and never empty) before the field's
// type parses it. An error rejects the row with [intake.CodeTransformFailed] and
// the error's text as the message. A TransformFunc must be safe for
// concurrent use: one compiled plan runs on many goroutines.
type TransformFunc func(string) (string, error)

// TransformFactory builds a [TransformFunc] from a rule's arguments. It runs
// once per column when a plan is compiled; argument errors are reported as
// compile errors naming the column.
type TransformFactory func(args TransformArgs) (TransformFunc, error)

// Transforms is a registry of named transforms. [DefaultTransforms] returns
// one holding the built-in set; a host extends it with [Transforms.Register]
// and passes it to [Compile] in [Options.Transforms]. There is no global
// registry: each registry is a value owned by its creator.
//
// Register is not safe for concurrent use with itself or with [Compile]:
// build the registry at start-up, then share it read-only.
type Transforms struct {
	m map[string]TransformFactory
}

// NewTransforms returns an empty registry.
func NewTransforms() *Transforms { return &Transforms{m: map[string]TransformFactory{}} }

// DefaultTransforms returns a new registry holding the built-in transforms:
//
//   - trim: removes surrounding Unicode white space.
//   - collapse_spaces: trims and replaces every run of white space by one
//     space.
//   - lower, upper: Unicode lower or upper case.
//   - title: title case of each word ("anna-lena o'neil" → "Anna-Lena
//     O'neil"), by golang.org/x/text/cases for an undetermined language.
//   - regex_extract: "pattern" (RE2 syntax, required), "group" (number or
//     name of the capture group; default 1 when the pattern has a group,
//     else 0) — the group's text of the first match, or an empty cell when
//     nothing matches; with "required": true no match is an error.
//   - regex_replace: "pattern" (required), "replacement" (default "",
//     $1 and ${name} expand groups) — replaces every match.
//   - split: "sep" (required, non-empty), "index" (0-based, negative counts
//     from the end; default 0) — the index-th part, trimmed, or an empty cell
//     when there are fewer parts; with "required": true that is an error.
//   - replace: "old" (required, non-empty), "new" (default "") — replaces
//     every occurrence of a literal string.
//
// Each call returns a fresh registry that the caller may extend.
func DefaultTransforms() *Transforms {
	r := NewTransforms()
	simple := func(f func(string) string) TransformFactory {
		return func(TransformArgs) (TransformFunc, error) {
			return func(s string) (string, error) { return f(s), nil }, nil
		}
	}
	r.m["trim"] = simple(strings.TrimSpace)
	r.m["collapse_spaces"] = simple(collapseSpaces)
	r.m["lower"] = simple(strings.ToLower)
	r.m["upper"] = simple(strings.ToUpper)
	r.m["title"] = simple(titleCase)
	r.m["regex_extract"] = regexExtract
	r.m["regex_replace"] = regexReplace
	r.m["split"] = splitTransform
	r.m["replace"] = replaceTransform
	return r
}

// Register adds a named transform. Names are lower-case letters, digits
// and underscores, starting with a letter; registering a name twice (a
// built-in one included) is an error, so that a spec always means the
// same thing: build on [NewTransforms] to replace a built-in.
func (r *Transforms) Register(name string, f TransformFactory) error {
	if r.m == nil {
		r.m = map[string]TransformFactory{}
	}
	switch {
	case !validFieldName(name):
		return fmt.Errorf("mapping: transform name %q: use lower-case letters, digits and underscores, starting with a letter", name)
	case f == nil:
		return fmt.Errorf("mapping: transform %q: the factory is nil", name)
	case r.m[name] != nil:
		return fmt.Errorf("mapping: transform %q is already registered", name)
	}
	r.m[name] = f
	return nil
}

// Names returns the registered names, sorted.
func (r *Transforms) Names() []string {
	if r == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(r.m))
}

// Clone returns a copy of the registry that can be extended independently.
func (r *Transforms) Clone() *Transforms {
	if r == nil {
		return NewTransforms()
	}
	return &Transforms{m: maps.Clone(r.m)}
}

// compile builds the transform chain of a column.
func (r *Transforms) compile(specs []Transform) ([]TransformFunc, error) {
	var out []TransformFunc
	var errs []error
	for i, t := range specs {
		what := fmt.Sprintf("transform %d", i+1)
		f := r.m[t.Name]
		if f == nil {
			hint := ""
			if c := closest(t.Name, r.Names(), 0.7); c != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", c)
			}
			errs = append(errs, fmt.Errorf("%s: %q is not a known transform%s: use one of %s, or register it in Options.Transforms", what, t.Name, hint, strings.Join(r.Names(), ", ")))
			continue
		}
		args := TransformArgs{name: t.Name, m: t.Args, used: map[string]bool{}}
		fn, err := f(args)
		if err == nil && fn == nil {
			err = errors.New("the factory returned no function")
		}
		if err == nil {
			err = args.unused()
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %v", what, t.Name, err))
			continue
		}
		out = append(out, fn)
	}
	return out, errors.Join(errs...)
}

// Transform is one transform rule of a column: a registered name and its
// arguments. In JSON the arguments sit next to the name:
//
//	{"name": "split", "sep": " ", "index": 0}
//
// Argument values are strings, numbers or booleans.
type Transform struct {
	// Name is the transform's registered name ("trim", "split", …).
	Name string
	// Args are the rule's arguments by name; nil when it has none.
	Args map[string]any
}

// MarshalJSON writes the rule as one object: "name" first, then the
// arguments in name order.
func (t Transform) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"name":`)
	n, err := json.Marshal(t.Name)
	if err != nil {
		return nil, err
	}
	b.Write(n)
	for _, k := range slices.Sorted(maps.Keys(t.Args)) {
		if k == "name" {
			return nil, errors.New(`a transform argument cannot be called "name"`)
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(t.Args[k])
		if err != nil {
			return nil, fmt.Errorf("transform %q argument %q: %v", t.Name, k, err)
		}
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a rule written as {"name": …, "arg": value, …}.
func (t *Transform) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("a transform is an object like {\"name\": \"trim\"}: %v", err)
	}
	nb, ok := raw["name"]
	if !ok {
		return errors.New(`a transform needs a "name"`)
	}
	var name string
	if err := json.Unmarshal(nb, &name); err != nil || name == "" {
		return errors.New(`a transform's "name" must be a non-empty string`)
	}
	delete(raw, "name")
	t.Name, t.Args = name, nil
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		var v any
		if err := json.Unmarshal(raw[k], &v); err != nil {
			return fmt.Errorf("transform %q argument %q: %v", name, k, err)
		}
		switch v.(type) {
		case string, float64, bool:
		default:
			return fmt.Errorf("transform %q argument %q: want a string, number or boolean", name, k)
		}
		if t.Args == nil {
			t.Args = map[string]any{}
		}
		t.Args[k] = v
	}
	return nil
}

// TransformArgs are the arguments of one transform rule, as a factory sees
// them. Every argument must be read by the factory: one it never asks for
// is reported as unknown, which catches misspelt names.
type TransformArgs struct {
	name string
	m    map[string]any
	used map[string]bool
}

// Has reports whether the rule sets the argument.
func (a TransformArgs) Has(key string) bool {
	a.used[key] = true
	_, ok := a.m[key]
	return ok
}

// String returns a string argument, or def when it is absent.
func (a TransformArgs) String(key, def string) (string, error) {
	a.used[key] = true
	v, ok := a.m[key]
	if !ok {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("argument %q must be a string, not %v", key, v)
	}
	return s, nil
}

// Int returns an integer argument, or def when it is absent.
func (a TransformArgs) Int(key string, def int) (int, error) {
	a.used[key] = true
	v, ok := a.m[key]
	if !ok {
		return def, nil
	}
	f, ok := v.(float64)
	if !ok || f != float64(int(f)) || f > 1<<30 || f < -(1<<30) {
		return 0, fmt.Errorf("argument %q must be an integer, not %v", key, v)
	}
	return int(f), nil
}

// Bool returns a boolean argument, or def when it is absent.
func (a TransformArgs) Bool(key string, def bool) (bool, error) {
	a.used[key] = true
	v, ok := a.m[key]
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("argument %q must be true or false, not %v", key, v)
	}
	return b, nil
}

// Value returns an argument as decoded from JSON (string, float64 or
// bool) and whether it is set.
func (a TransformArgs) Value(key string) (any, bool) {
	a.used[key] = true
	v, ok := a.m[key]
	return v, ok
}

func (a TransformArgs) unused() error {
	var bad []string
	for k := range a.m {
		if !a.used[k] {
			bad = append(bad, strconv.Quote(k))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	known := slices.Sorted(maps.Keys(a.used))
	if len(known) == 0 {
		return fmt.Errorf("unknown argument %s: %q takes no arguments", strings.Join(bad, ", "), a.name)
	}
	return fmt.Errorf("unknown argument %s (%q takes %s)", strings.Join(bad, ", "), a.name, strings.Join(known, ", "))
}

// Required returns a string argument that the rule must set, not empty.
func (a TransformArgs) Required(key string) (string, error) { return a.need(key) }

// need returns a required string argument.
func (a TransformArgs) need(key string) (string, error) {
	a.used[key] = true
	if _, ok := a.m[key]; !ok {
		return "", fmt.Errorf("argument %q is required", key)
	}
	s, err := a.String(key, "")
	if err == nil && s == "" {
		err = fmt.Errorf("argument %q must not be empty", key)
	}
	return s, err
}

// maxPattern and maxRegexInsts bound regular expressions in specs: RE2
// runs in linear time, but the time per byte grows with the compiled
// program, and a transform runs on every row ("a{1000}" alone is 1000
// instructions).
const (
	maxPattern    = 1000
	maxRegexInsts = 2500
)

// regexSize returns the size of the compiled program of a valid pattern.
func regexSize(p string) int {
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return 0
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0
	}
	return len(prog.Inst)
}

func compileRegex(a TransformArgs) (*regexp.Regexp, error) {
	p, err := a.need("pattern")
	if err != nil {
		return nil, err
	}
	if len(p) > maxPattern {
		return nil, fmt.Errorf("pattern is longer than %d bytes", maxPattern)
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %v", p, err)
	}
	if n := regexSize(p); n > maxRegexInsts {
		return nil, fmt.Errorf("pattern %q is too complex (%d instructions, at most %d): simplify its repetitions", p, n, maxRegexInsts)
	}
	return re, nil
}

func regexExtract(a TransformArgs) (TransformFunc, error) {
	re, err := compileRegex(a)
	if err != nil {
		return nil, err
	}
	group := 0
	if re.NumSubexp() > 0 {
		group = 1
	}
	if v, ok := a.Value("group"); ok {
		switch g := v.(type) {
		case string:
			group = re.SubexpIndex(g)
			if group < 0 {
				return nil, fmt.Errorf("the pattern has no group named %q", g)
			}
		case float64:
			if g != float64(int(g)) || g < 0 || int(g) > re.NumSubexp() {
				return nil, fmt.Errorf("group %v: the pattern has groups 0 to %d", g, re.NumSubexp())
			}
			group = int(g)
		default:
			return nil, fmt.Errorf("argument \"group\" must be a group number or name, not %v", v)
		}
	}
	required, err := a.Bool("required", false)
	if err != nil {
		return nil, err
	}
	return func(s string) (string, error) {
		m := re.FindStringSubmatchIndex(s)
		if m == nil || m[2*group] < 0 {
			if required {
				return "", fmt.Errorf("%s does not match %q", quoteCell(s), re.String())
			}
			return "", nil
		}
		return s[m[2*group]:m[2*group+1]], nil
	}, nil
}

func regexReplace(a TransformArgs) (TransformFunc, error) {
	re, err := compileRegex(a)
	if err != nil {
		return nil, err
	}
	repl, err := a.String("replacement", "")
	if err != nil {
		return nil, err
	}
	return func(s string) (string, error) { return re.ReplaceAllString(s, repl), nil }, nil
}

func splitTransform(a TransformArgs) (TransformFunc, error) {
	sep, err := a.need("sep")
	if err != nil {
		return nil, err
	}
	idx, err := a.Int("index", 0)
	if err != nil {
		return nil, err
	}
	required, err := a.Bool("required", false)
	if err != nil {
		return nil, err
	}
	return func(s string) (string, error) {
		parts := strings.Split(s, sep)
		i := idx
		if i < 0 {
			i += len(parts)
		}
		if i < 0 || i >= len(parts) {
			if required {
				return "", fmt.Errorf("%s has %d parts separated by %q, not part %d", quoteCell(s), len(parts), sep, idx)
			}
			return "", nil
		}
		return strings.TrimSpace(parts[i]), nil
	}, nil
}

func replaceTransform(a TransformArgs) (TransformFunc, error) {
	old, err := a.need("old")
	if err != nil {
		return nil, err
	}
	repl, err := a.String("new", "")
	if err != nil {
		return nil, err
	}
	return func(s string) (string, error) { return strings.ReplaceAll(s, old, repl), nil }, nil
}

// collapseSpaces trims s and replaces runs of Unicode white space by one
// ASCII space.
func collapseSpaces(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// titleCase title-cases s. A Caser is stateful, so each call builds one.
func titleCase(s string) string {
	if !utf8.ValidString(s) {
		return s
	}
	return cases.Title(language.Und).String(s)
}

// validFieldName reports whether n is a valid field (or transform) name:
// lower-case letters, digits and underscores, starting with a letter, at
// most 63 bytes.
func validFieldName(n string) bool {
	if n == "" || len(n) > 63 || n[0] < 'a' || n[0] > 'z' {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
