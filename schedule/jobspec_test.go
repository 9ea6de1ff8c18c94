package schedule_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/mapping"
	"github.com/intakehq/intake/schedule"
	"github.com/intakehq/intake/schedule/scheduletest"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawBackend opens a job store together with a way to write its tables
// directly, as a store of an older version of the library left them.
type rawBackend struct {
	name string
	open func(t *testing.T, cfg schedule.StoreConfig) (schedule.JobStore, func(q string, args ...any))
}

func rawBackends() []rawBackend {
	return []rawBackend{
		{"sqlite", func(t *testing.T, cfg schedule.StoreConfig) (schedule.JobStore, func(string, ...any)) {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+"?_pragma=busy_timeout(10000)")
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			s, err := schedule.NewSQLite(context.Background(), db, cfg)
			require.NoError(t, err)
			return s, func(q string, args ...any) {
				_, err := db.Exec(q, args...)
				require.NoError(t, err)
			}
		}},
		{"postgres", func(t *testing.T, cfg schedule.StoreConfig) (schedule.JobStore, func(string, ...any)) {
			pool := pgPools(t, 1)[0]
			s, err := schedule.NewPostgres(context.Background(), pool, cfg)
			require.NoError(t, err)
			return s, func(q string, args ...any) {
				n := 0
				q = regexp.MustCompile(`\?`).ReplaceAllStringFunc(q, func(string) string { n++; return "$" + strconv.Itoa(n) })
				_, err := pool.Exec(context.Background(), q, args...)
				require.NoError(t, err)
			}
		}},
	}
}

// TestJobStoreMigratesOldShape: a job stored with its import settings at
// the top level (object, mapping, action, sync, allow_new_records, and the
// file's delimiter and sheet in the source's options) reads back with
// them in its Spec, runs through Update, and is stored in the new shape.
func TestJobStoreMigratesOldShape(t *testing.T) {
	t.Parallel()
	for _, b := range rawBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, exec := b.open(t, schedule.StoreConfig{Clock: scheduletest.NewClock(t0)})
			old := `{"id":"j1","name":"legacy","source":{"connector":"file","path":"in/contacts.csv",
				"options":{"delimiter":"semicolon","no_header":"true","sheet":"Leads","host_setting":"x"}},
				"object":"contact","mapping":{"columns":[{"source":"E-Mail","field":"email"},{"source":"Tier","field":"loyalty_tier"}]},
				"action":"add_and_update","sync":["email"],"cadence":"daily at 09:00","time_zone":"Europe/Berlin","enabled":true}`
			exec(`INSERT INTO intake_jobs (id, name, enabled, next_run, target, spec) VALUES (?, ?, ?, ?, ?, ?)`,
				"j1", "legacy", 1, 0, "", old)
			newer := `{"id":"j2","name":"creates","source":{"connector":"file","path":"b.csv"},"action":"add_only","allow_new_records":true,"enabled":false}`
			exec(`INSERT INTO intake_jobs (id, name, enabled, next_run, target, spec) VALUES (?, ?, ?, ?, ?, ?)`,
				"j2", "creates", 0, 0, "", newer)

			j, err := s.Get(ctx, "j1")
			require.NoError(t, err)
			no := false
			header := false
			want := importer.JobSpec{
				Version: importer.JobSpecVersion, Object: "contact",
				Source:  importer.SourceSpec{Delimiter: "semicolon", Header: &header, Sheet: "Leads"},
				Mapping: &mapping.Spec{Version: mapping.SpecVersion, Columns: []mapping.Column{{Source: "E-Mail", Field: "email"}, {Source: "Tier", Field: "loyalty_tier"}}},
				Action:  "add_and_update", Sync: []string{"email"}, AllowNewRecords: &no,
			}
			assert.Equal(t, want, j.Spec)
			assert.Equal(t, map[string]string{"host_setting": "x"}, j.Source.Options)
			j2, err := s.Get(ctx, "j2")
			require.NoError(t, err)
			assert.Nil(t, j2.Spec.AllowNewRecords, "allow_new_records true is the spec's default")
			assert.Equal(t, "add_only", string(j2.Spec.Action))

			all, err := s.List(ctx, schedule.JobFilter{Object: "contact"})
			require.NoError(t, err)
			assert.Len(t, all, 2)
			users, err := s.FieldUsers(ctx, "contact", "loyalty_tier")
			require.NoError(t, err)
			require.Len(t, users, 1)
			assert.Equal(t, "j1", users[0].ID)

			// Saved again, the job is in the new shape and reads back the same.
			j.Description = "migrated"
			_, err = s.Update(ctx, j)
			require.NoError(t, err)
			again, err := s.Get(ctx, "j1")
			require.NoError(t, err)
			assert.Equal(t, want, again.Spec)
			assert.Equal(t, "migrated", again.Description)
		})
	}
}

// TestJobStoreRefusesInvalidJob: Create and Update refuse a job whose spec
// is wrong, listing every problem with its path in the job; with
// StoreConfig.SinkFor a field the store does not have is refused too.
func TestJobStoreRefusesInvalidJob(t *testing.T) {
	t.Parallel()
	for _, b := range rawBackends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			contacts := memory.New(memory.Config{})
			t.Cleanup(func() { _ = contacts.Close() })
			s, _ := b.open(t, schedule.StoreConfig{Clock: scheduletest.NewClock(t0),
				SinkFor: func(schedule.Job) (sink.Sink, error) { return contacts, nil }})

			bad := sampleJob("wrong")
			bad.Spec.Action = "upsert"
			bad.Spec.Rules = []string{"email", "md5(("}
			bad.Overlap = "wait"
			_, err := s.Create(ctx, bad)
			var inv *schedule.InvalidJobError
			require.True(t, errors.As(err, &inv), "%v", err)
			var paths []string
			for _, p := range inv.Problems {
				paths = append(paths, p.Path)
			}
			assert.Equal(t, []string{"$.overlap", "$.spec.action", "$.spec.rules", "$.spec.rules[1]"}, paths, "%v", err)
			var es importer.SpecErrors
			assert.True(t, errors.As(err, &es), "the problems are an importer.SpecErrors")
			list, _ := s.List(ctx, schedule.JobFilter{})
			assert.Empty(t, list, "nothing is saved")

			// The store it writes into has no field emial.
			typo := sampleJob("typo")
			typo.Spec.Sync = []string{"emial"}
			_, err = s.Create(ctx, typo)
			require.True(t, errors.As(err, &inv), "%v", err)
			require.Len(t, inv.Problems, 1, "%v", err)
			assert.Equal(t, "$.spec.sync[0]", inv.Problems[0].Path)
			assert.Contains(t, inv.Problems[0].Message, `"emial" is not a field of contact`)

			// Update validates as Create does.
			ok, err := s.Create(ctx, sampleJob("fine"))
			require.NoError(t, err)
			ok.Spec.Action = "upsert"
			_, err = s.Update(ctx, ok)
			require.True(t, errors.As(err, &inv), "%v", err)
			assert.Equal(t, "$.spec.action", inv.Problems[0].Path)
			assert.True(t, strings.HasPrefix(err.Error(), `schedule: job "fine" is invalid:`), err.Error())
			got, err := s.Get(ctx, ok.ID)
			require.NoError(t, err)
			assert.Equal(t, "add_and_update", string(got.Spec.Action), "the refused update changed nothing")

			// How a file is read is said once, in the spec.
			opts := sampleJob("options")
			opts.Source.Options = map[string]string{"delimiter": "tab"}
			_, err = s.Create(ctx, opts)
			require.True(t, errors.As(err, &inv), "%v", err)
			assert.Equal(t, "$.source.options.delimiter", inv.Problems[0].Path)
		})
	}
}
