package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
)

// The import flags map one to one to the keys of a job spec
// (importer.JobSpec): a flag given on the line sets its key, over what a
// -job spec says; a flag left out leaves the key as it is (omitted, it takes
// the spec's default, which is the flag's default).

// specKeyFlags names the flag of each job spec key, by JSON path.
var specKeyFlags = map[string]string{
	"$.object":           "object",
	"$.source.delimiter": "delimiter",
	"$.source.encoding":  "encoding",
	"$.source.header":    "no-header",
	"$.source.sheet":     "sheet",
	"$.mapping":          "mapping",
	"$.action":           "action",
	"$.on_match":         "on-match",
	"$.on_no_match":      "on-no-match",
	"$.sync":             "sync",
	"$.rules":            "rules",
	"$.duplicates":       "duplicates",
	"$.merge":            "merge",
	"$.merge.default":    "merge",
	"$.merge.by":         "merge-by",
	"$.consent":          "consent",
	"$.lists":            "lists",
	"$.tags":             "tags",
	"$.links":            "link",
	"$.on_unknown":       "on-unknown",
	"$.reason":           "reason",
	"$.actor":            "actor",
	"$.unlink":           "unlink",
	"$.undo.off":         "no-undo",
	"$.undo.deletes":     "undo-deletes",
}

// acousticKeys are the keys an -acoustic-map file sets.
var acousticKeys = []string{"$.action", "$.sync", "$.rules", "$.source.delimiter", "$.source.header", "$.mapping", "$.consent", "$.lists"}

// flagOfPath returns the flag of a JSON path ("$.rules[1]" → "rules"), or "".
func flagOfPath(path string) (key, flag string) {
	for p := path; p != "$" && p != ""; {
		if i := strings.IndexByte(p, '['); i >= 0 {
			p = p[:i]
		}
		if f, ok := specKeyFlags[p]; ok {
			return p, f
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return "", ""
}

// specSettings is where the settings of an import come from: the flags
// given on the line, a -job file and an -acoustic-map file.
type specSettings struct {
	set      map[string]bool
	job      string
	acoustic string
}

// problems turns a job spec's problems into a usage error that names, for
// each, what the user gave: the flag when it comes from one ("-sync: …"),
// else the -job file and the problem's JSON path ("-job weekly.json:
// $.merge.fields.city: …").
func (s specSettings) problems(es importer.SpecErrors) error {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = s.problem(e)
	}
	if len(lines) == 1 {
		return usagef("%s", lines[0])
	}
	return usagef("the import's settings have %d problems:\n  %s", len(lines), strings.Join(lines, "\n  "))
}

func (s specSettings) problem(e *importer.SpecError) string {
	key, flag := flagOfPath(e.Path)
	switch {
	case s.acoustic != "" && !s.set[flag] && slices.Contains(acousticKeys, key):
		return fmt.Sprintf("-acoustic-map %s: %s", s.acoustic, flagWords(e.Message))
	case flag != "" && (s.set[flag] || s.job == ""):
		msg := flagWords(e.Message)
		if strings.HasPrefix(msg, "-") {
			return msg // "-on-match delete needs -reason: …"
		}
		return "-" + flag + ": " + msg
	case s.job != "":
		return fmt.Sprintf("-job %s: %s: %s", s.job, e.Path, e.Message)
	}
	return e.Error()
}

// specWords are the job spec's names in messages, and the flags that say
// the same on the command line.
var specWords = strings.NewReplacer(
	"on_match", "-on-match", "on_no_match", "-on-no-match", "on_unknown", "-on-unknown",
	"needs a reason", "needs -reason", "give sync", "give -sync", "or rules", "or -rules",
	"leave object out", "leave -object out", "give a mapping", "give -mapping", "needs a mapping", "needs -mapping",
)

// flagWords rewrites a job spec's message in the words of the flags.
func flagWords(msg string) string { return specWords.Replace(msg) }

// goFieldFlags names the flag of each field of importer.Job that errors of
// the importer may name.
var goFieldFlags = map[string]string{
	"Mapping": "-mapping", "Reason": "-reason", "Sync": "-sync", "Rules": "-rules", "Unlink": "-unlink",
	"Explain": "-explain", "AccountLink": "-on-unknown", "Links": "-link", "Action": "-action",
	"Matrix": "-on-match", "Duplicates": "-duplicates", "Merge": "-merge", "Consent": "-consent",
	"Memberships": "-lists", "Profile": "-object activity", "Source": "FILE", "Schema": "-object",
}

var goFieldRE = regexp.MustCompile(`(?:(?:set|unset) )?Job\.([A-Z][A-Za-z]*)`)

// cliError says an error of the importer in the words of the command line:
// "set Job.Reason" becomes "give -reason".
func cliError(err error) error {
	if err == nil {
		return nil
	}
	msg := goFieldRE.ReplaceAllStringFunc(err.Error(), func(m string) string {
		sub := goFieldRE.FindStringSubmatch(m)
		flag, ok := goFieldFlags[sub[1]]
		if !ok {
			return m
		}
		if strings.HasPrefix(m, "set ") || strings.HasPrefix(m, "unset ") {
			return "give " + flag
		}
		return flag
	})
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// loadJobSpec reads a job spec file. A file that is not a spec is a usage
// error that lists each problem with its JSON path; a spec whose values
// are invalid is returned, for JobSpec.Job to report its problems with
// those only the store can tell (and for flags to override).
func loadJobSpec(flag, path string) (*importer.JobSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usagef("%s%s: no such file", flag, path)
		}
		return nil, fmt.Errorf("%s%w", flag, err)
	}
	spec, err := importer.ParseJobSpec(data)
	if err != nil && spec == nil {
		return nil, specFileError(flag+path, err)
	}
	return spec, nil
}

// checkJobSpec checks a job file's spec against the store: every problem,
// each with its JSON path, is a usage error.
func checkJobSpec(ctx context.Context, s sink.Sink, file string, spec *importer.JobSpec) error {
	return specFileError(file, spec.ValidateFor(ctx, s))
}

// specFileError reports the problems of a job spec file, each with its
// JSON path: a usage error (exit status 2).
func specFileError(file string, err error) error {
	if err == nil {
		return nil
	}
	var es importer.SpecErrors
	if !errors.As(err, &es) {
		return err
	}
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	if len(lines) == 1 {
		return usagef("%s: %s", file, lines[0])
	}
	return usagef("%s: %d problems:\n  %s", file, len(lines), strings.Join(lines, "\n  "))
}

// importSpec returns the job spec of an import: the -job file's, or an
// empty one, with the flags given on the line set over it.
func importSpec(f *importFlags, set map[string]bool) (*importer.JobSpec, error) {
	spec := &importer.JobSpec{Version: importer.JobSpecVersion}
	if f.job != "" {
		var err error
		if spec, err = loadJobSpec("-job ", f.job); err != nil {
			return nil, err
		}
	}
	if err := f.applyTo(spec, set); err != nil {
		return nil, err
	}
	return spec, nil
}

// applyTo sets the keys of spec whose flags are in set.
func (f *importFlags) applyTo(spec *importer.JobSpec, set map[string]bool) error {
	var err error
	if set["object"] {
		spec.Object = f.object
	}
	if set["mapping"] {
		if spec.Mapping, err = loadSpec(f.mapping); err != nil {
			return err
		}
	}
	if err := f.applyAction(spec, set); err != nil {
		return err
	}
	if err := f.applyIdentity(spec, set); err != nil {
		return err
	}
	f.applySource(spec, set)
	f.applyMerge(spec, set)
	f.applyMembers(spec, set)
	if set["link"] {
		spec.Links = splitLinks(f.links)
	}
	if set["on-unknown"] {
		spec.OnUnknown = importer.Missing(f.onUnknown)
	}
	if set["reason"] {
		spec.Reason = f.reason
	}
	if set["actor"] {
		spec.Actor = f.actor
	}
	if set["unlink"] {
		spec.Unlink = importer.Unlink(f.unlink)
	}
	if set["no-undo"] || set["undo-deletes"] {
		u := importer.UndoOptions{}
		if spec.Undo != nil {
			u = *spec.Undo
		}
		if set["no-undo"] {
			u.Off = f.noUndo
		}
		if set["undo-deletes"] {
			u.Deletes = f.undoDeletes
		}
		spec.Undo = &u
	}
	return nil
}

// applyAction sets the record action: -action is the preset, -on-match and
// -on-no-match change it (then the spec holds the matrix alone, since a
// spec says the action one way or the other).
func (f *importFlags) applyAction(spec *importer.JobSpec, set map[string]bool) error {
	if set["action"] {
		a, err := intake.ParseAction(f.action)
		if err != nil {
			return usagef("-action: %s", plainError(err))
		}
		spec.Action, spec.OnMatch, spec.OnNoMatch = a, "", ""
	}
	if !set["on-match"] && !set["on-no-match"] {
		return nil
	}
	mx := identity.Preset(spec.Action)
	if spec.OnMatch != "" {
		mx.OnMatch = spec.OnMatch
	}
	if spec.OnNoMatch != "" {
		mx.OnNoMatch = spec.OnNoMatch
	}
	if set["on-match"] {
		mx.OnMatch = identity.OnMatch(f.onMatch)
	}
	if set["on-no-match"] {
		mx.OnNoMatch = identity.OnNoMatch(f.onNoMatch)
	}
	if err := mx.Validate(); err != nil {
		return usagef("%s", plainError(err))
	}
	spec.Action, spec.OnMatch, spec.OnNoMatch = "", mx.OnMatch, mx.OnNoMatch
	return nil
}

// applyIdentity sets "sync" from -sync, or "rules" from -rules; each
// replaces the other. A -sync key with options (md5(email), …) is one rule.
func (f *importFlags) applyIdentity(spec *importer.JobSpec, set map[string]bool) error {
	switch {
	case set["sync"] && set["rules"]:
		return usagef("-rules replaces -sync: give one of them")
	case set["sync"]:
		k, err := intake.ParseKeySpec(f.sync)
		if err != nil {
			return usagef("-sync: %s", plainError(err))
		}
		setKey(spec, k)
	case set["rules"]:
		if _, err := intake.ParseRules(f.rules); err != nil {
			return usagef("-rules: %s", plainError(err))
		}
		spec.Sync, spec.Rules = nil, nil
		for _, r := range strings.Split(f.rules, ";") {
			spec.Rules = append(spec.Rules, strings.TrimSpace(r))
		}
	}
	return nil
}

// setKey makes k the spec's one identity key.
func setKey(spec *importer.JobSpec, k intake.KeySpec) {
	if k.MD5 || k.RecordID || k.EmailRules != intake.EmailExact {
		spec.Sync, spec.Rules = nil, []string{k.Name()}
		return
	}
	spec.Sync, spec.Rules = slices.Clone(k.Fields), nil
}

func (f *importFlags) applySource(spec *importer.JobSpec, set map[string]bool) {
	if set["delimiter"] {
		spec.Source.Delimiter = f.delimiter
	}
	if set["encoding"] {
		spec.Source.Encoding = f.encoding
	}
	if set["no-header"] {
		header := !f.noHeader
		spec.Source.Header = &header
	}
	if set["sheet"] {
		spec.Source.Sheet = f.sheet
	}
}

func (f *importFlags) applyMerge(spec *importer.JobSpec, set map[string]bool) {
	if set["duplicates"] {
		spec.Duplicates = identity.Duplicates(f.duplicates)
	}
	if !set["merge"] && !set["merge-by"] {
		return
	}
	if spec.Merge == nil {
		spec.Merge = &importer.MergeSpec{}
	}
	if set["merge"] {
		spec.Merge.Default = identity.Merge(f.merge)
	}
	if set["merge-by"] {
		spec.Merge.By = f.mergeBy
	}
}

// applyMembers sets consent, lists and tags. -allow-resubscribe applies to
// every consent channel, the spec's too.
func (f *importFlags) applyMembers(spec *importer.JobSpec, set map[string]bool) {
	if set["consent"] {
		spec.Consent = nil
		for _, c := range splitList(f.consent) {
			spec.Consent = append(spec.Consent, identity.Channel{Name: c})
		}
	}
	if set["allow-resubscribe"] {
		for i := range spec.Consent {
			spec.Consent[i].AllowResubscribe = f.allowResubscribe
		}
	}
	if set["lists"] {
		spec.Lists = splitList(f.lists)
	}
	if set["tags"] {
		spec.Tags = splitList(f.tags)
	}
}

// splitList splits a comma-separated flag value, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// splitLinks splits a -link value into its links: at the commas outside
// square brackets ("a, b=account.name[x:y, update]" is two links).
func splitLinks(s string) []string {
	var out []string
	depth, lo := 0, 0
	flush := func(hi int) {
		if l := strings.TrimSpace(s[lo:hi]); l != "" {
			out = append(out, l)
		}
	}
	for i, c := range s {
		switch c {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				flush(i)
				lo = i + 1
			}
		}
	}
	flush(len(s))
	return out
}

// applyAcoustic sets what an Acoustic Campaign LIST_IMPORT mapping file
// says (acoustic.Map.JobSpec): the action (or its matrix), the key, the
// file type and header row and the mapping; its consent channel and
// contact lists join those of the flags. -allow-resubscribe, when given,
// overrides the map's HONOR_OPT_OUT_STATUS; -acoustic-strict rejects the
// rows whose cells do not parse as their column's TYPE. The map's
// warnings go to stderr.
func applyAcoustic(spec *importer.JobSpec, path string, f *importFlags, set map[string]bool, stderr io.Writer) error {
	a, err := loadAcoustic(path)
	if err != nil {
		return err
	}
	a.StrictTypes = f.acousticStrict
	for _, w := range a.Warnings {
		fmt.Fprintf(stderr, "intake: -acoustic-map %s: warning: %s\n", path, w)
	}
	as, err := a.JobSpec()
	if err != nil {
		return usagef("-acoustic-map %s: %s", path, plainError(err))
	}
	spec.Action, spec.OnMatch, spec.OnNoMatch = as.Action, as.OnMatch, as.OnNoMatch
	spec.Sync, spec.Rules = as.Sync, as.Rules
	spec.Source.Delimiter, spec.Source.Header = as.Source.Delimiter, as.Source.Header
	spec.Mapping = as.Mapping
	for _, ch := range as.Consent {
		if set["allow-resubscribe"] {
			ch.AllowResubscribe = f.allowResubscribe
		}
		spec.Consent = append(spec.Consent, ch)
	}
	spec.Lists = append(spec.Lists, as.Lists...)
	return nil
}

// saveJobSpec writes spec to path as indented JSON (what -job reads).
func saveJobSpec(spec *importer.JobSpec, path string) error {
	data, err := spec.MarshalIndent()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("-save-job: %w", err)
	}
	return nil
}
