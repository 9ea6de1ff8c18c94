package importer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/identity"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
)

// The model: a plain, sequential reading of the record-action table on
// intake.Action, one row at a time, against which streaming runs (any batch
// size, any number of workers, overlapped writes or not, dry or not) must
// agree.

const (
	fEmail = iota
	fFirst
	fLast
	fCity
	nFields
)

var modelHeader = "email,first_name,last_name,city"

// modelSeed is stored before each run: a@x.io / Ann Lee twice (a key that
// matches two records), c@x.io / Bob Kim once.
const modelSeed = "email,first_name,last_name,city\na@x.io,Ann,Lee,Rome\na@x.io,Ann,Lee,Oslo\nc@x.io,Bob,Kim,\n"

type mrec struct {
	vals  [nFields]string // "" is null
	opted bool
}

type model struct {
	sync []int
	recs []*mrec
	seen map[string]bool
	counts
}

type counts struct {
	Rows, Created, Updated, Unchanged, Skipped, OptedOut, Rejected, Records int64
	Reasons                                                                 map[intake.Code]int64
}

func countsOf(rep *importer.Report) counts {
	return counts{rep.Rows, rep.Created, rep.Updated, rep.Unchanged, rep.Skipped, rep.OptedOut, rep.Rejected, rep.Records, rep.Reasons}
}

func newModel(sync []int, seed string) *model {
	m := &model{sync: sync, seen: map[string]bool{}}
	for _, l := range strings.Split(strings.TrimSpace(seed), "\n")[1:] {
		m.recs = append(m.recs, &mrec{vals: parseModelRow(l)})
	}
	m.counts = counts{}
	return m
}

func parseModelRow(line string) [nFields]string {
	var v [nFields]string
	copy(v[:], strings.Split(line, ","))
	v[fEmail] = strings.ToLower(v[fEmail])
	return v
}

func (m *model) key(v [nFields]string) (k string, allEmpty bool) {
	var parts []string
	empty := 0
	for _, f := range m.sync {
		p := strings.ToLower(v[f])
		if p == "" {
			empty++
		}
		parts = append(parts, p)
	}
	if empty > 0 {
		return "", empty == len(m.sync)
	}
	return strings.Join(parts, intake.KeySep), false
}

func (m *model) matches(k string) []*mrec {
	var out []*mrec
	if k == "" {
		return nil
	}
	for _, r := range m.recs {
		if rk, _ := m.key(r.vals); rk == k {
			out = append(out, r)
		}
	}
	return out
}

func (m *model) reason(code intake.Code) {
	if m.Reasons == nil {
		m.Reasons = map[intake.Code]int64{}
	}
	m.Reasons[code]++
}

func (m *model) apply(a intake.Action, line string) {
	m.Rows++
	v := parseModelRow(line)
	if v[fEmail] != "" && !strings.Contains(v[fEmail], "@") {
		m.Rejected++
		m.reason(intake.CodeInvalidEmail)
		return
	}
	k, none := m.key(v)
	if none {
		m.Rejected++
		m.reason(intake.CodeMissingKey)
		return
	}
	found := m.matches(k)
	update := func() {
		changed := false
		for _, r := range found {
			for f, x := range v {
				if x != "" && r.vals[f] != x {
					r.vals[f] = x
					changed = true
				}
			}
		}
		m.Records += int64(len(found))
		if changed {
			m.Updated++
		} else {
			m.Unchanged++
		}
	}
	switch a {
	case intake.ActionCreate, intake.ActionAddOnly:
		switch {
		case k != "" && m.seen[k]:
			m.Rejected++
			m.reason(intake.CodeDuplicate)
			return
		case len(found) > 0:
			m.seen[k] = true
			m.Skipped++
			m.reason(intake.CodeExists)
			return
		}
		if k != "" {
			m.seen[k] = true
		}
		m.recs = append(m.recs, &mrec{vals: v})
		m.Created++
	case intake.ActionUpdateOnly:
		if len(found) == 0 {
			m.Skipped++
			m.reason(intake.CodeNoMatch)
			return
		}
		update()
	case intake.ActionOptOut:
		if len(found) == 0 {
			m.Skipped++
			m.reason(intake.CodeNoMatch)
			return
		}
		for _, r := range found {
			r.opted = true
		}
		m.Records += int64(len(found))
		m.OptedOut++
	default:
		if len(found) == 0 {
			m.recs = append(m.recs, &mrec{vals: v})
			m.Created++
			return
		}
		update()
	}
}

// snapshot returns the stored contacts as sorted strings.
func snapshot(t *testing.T, s store) []string {
	t.Helper()
	var out []string
	require.NoError(t, s.Scan(context.Background(), intake.ContactSchema(), func(r *intake.Record) error {
		out = append(out, fmt.Sprintf("%s,%s,%s,%s,%v", r.Get("email").Str(), r.Get("first_name").Str(), r.Get("last_name").Str(), r.Get("city").Str(), r.OptedOut))
		return nil
	}))
	slices.Sort(out)
	return out
}

func (m *model) snapshot() []string {
	var out []string
	for _, r := range m.recs {
		out = append(out, fmt.Sprintf("%s,%s,%s,%s,%v", r.vals[0], r.vals[1], r.vals[2], r.vals[3], r.opted))
	}
	slices.Sort(out)
	return out
}

func randomModelFile(rng *rand.Rand, n int) (string, []string) {
	emails := []string{"a@x.io", "A@X.IO", "b@x.io", "B@x.io", "c@x.io", "d@x.io", "e@x.io", "", "not-an-email"}
	firsts := []string{"Ann", "ann", "Bob", "Cy", ""}
	lasts := []string{"Lee", "LEE", "Kim", ""}
	cities := []string{"Rome", "Oslo", "", ""}
	var b strings.Builder
	b.WriteString(modelHeader + "\n")
	lines := make([]string, n)
	for i := range n {
		lines[i] = strings.Join([]string{emails[rng.IntN(len(emails))], firsts[rng.IntN(len(firsts))], lasts[rng.IntN(len(lasts))], cities[rng.IntN(len(cities))]}, ",")
		b.WriteString(lines[i] + "\n")
	}
	return b.String(), lines
}

// TestRunsAgreeWithTheModel is a property test: random files, actions,
// sync fields (email; first_name+last_name, with blank and missing keys),
// batch sizes and workers, on both stores, overlapped or not, dry or not.
// The counts (Records and reasons included) must be those of the model,
// a real run must leave the store the model describes, and a dry run must
// leave the store as it was.
func TestRunsAgreeWithTheModel(t *testing.T) {
	t.Parallel()
	for _, storeName := range []string{"memory", "sqlite"} {
		iters := 120
		if storeName == "sqlite" {
			iters = 16
		}
		for seed := range iters {
			t.Run(fmt.Sprintf("%s/%d", storeName, seed), func(t *testing.T) {
				t.Parallel()
				rng := rand.New(rand.NewPCG(uint64(seed), 77))
				var s fullStore
				if storeName == "memory" {
					s = newMemory()
				} else {
					s = newSQLite(t)
				}
				runJob(t, importer.Config{Sink: s}, importer.Job{Source: csvSource(t, "seed.csv", modelSeed), Action: identity.Create, Identity: importer.NoSync()})
				sync, syncIdx := intake.Keys("email"), []int{fEmail}
				if rng.IntN(2) == 0 {
					sync, syncIdx = intake.Keys("first_name", "last_name"), []int{fFirst, fLast}
				}
				action := intake.Actions[rng.IntN(len(intake.Actions))]
				data, lines := randomModelFile(rng, rng.IntN(60))
				m := newModel(syncIdx, modelSeed)
				for _, l := range lines {
					m.apply(action, l)
				}
				before := snapshot(t, s)
				fs := &faultSink{fullStore: s}
				var snk sink.Sink = fs
				if rng.IntN(3) > 0 {
					snk = concurrentFaultSink{fs}
				}
				batch := []int{1, 2, 3, 5, 8, 1000}[rng.IntN(6)]
				workers := 1 + rng.IntN(8)
				desc := fmt.Sprintf("%s by %s, batch %d, workers %d, overlap %T", action, sync.Name(), batch, workers, snk)
				for _, dry := range []bool{true, false} {
					rep := runJob(t, importer.Config{Sink: snk, BatchSize: batch, Workers: workers},
						importer.Job{Source: csvSource(t, "f.csv", data), Action: identity.Preset(action), Identity: importer.Rules(sync), DryRun: dry})
					want := m.counts
					want.Rows = int64(len(lines))
					require.Equal(t, want, countsOf(rep), "dry %v: %s\n%s", dry, desc, data)
					if dry {
						require.Equal(t, before, snapshot(t, s), "a dry run writes nothing")
						require.Zero(t, fs.writes.Load(), "a dry run never calls Write")
					} else {
						require.Equal(t, m.snapshot(), snapshot(t, s), "%s\n%s", desc, data)
					}
				}
			})
		}
	}
}
