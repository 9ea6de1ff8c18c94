package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/internal/fixture"
	"github.com/intakehq/intake/sink/memory"
	"github.com/stretchr/testify/require"
)

// TestSQLiteKeyOptionColumns: specs that differ only by their options
// get key columns of their own, which a reopened store remembers; a
// record-id spec is not looked up.
func TestSQLiteKeyOptionColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	s := openSQLite(t, path)
	fixture.Write(t, s, fixture.Create(fixture.Person("1", "J.Doe+x@gmail.com", "", "")))
	provider := intake.KeySpec{Fields: []string{"email"}, EmailRules: intake.EmailProvider}
	hashed := intake.KeySpec{Fields: []string{"email"}, MD5: true}
	both := intake.KeySpec{Fields: []string{"email"}, EmailRules: intake.EmailProvider, MD5: true}
	keys := map[string]intake.Key{}
	for _, spec := range []intake.KeySpec{fixture.ByEmail, provider, hashed, both} {
		plan, err := fixture.Contact.CompileKey(spec)
		require.NoError(t, err)
		k, _ := plan.Key(fixture.Person("", "j.doe+x@gmail.com", "", ""))
		keys[spec.Name()] = k
		require.Equal(t, []string{"1"}, fixture.Lookup(t, s, spec, k)[k], spec.Name())
	}
	require.NotEqual(t, keys[hashed.Name()], keys[both.Name()])
	_, err := s.Lookup(ctx, fixture.Contact, intake.KeySpec{Fields: []string{"contact_id"}, RecordID: true}, []intake.Key{"1"})
	require.ErrorContains(t, err, "Get")

	var js string
	require.NoError(t, s.DB().QueryRow(`SELECT schema FROM intake_schema WHERE object = 'contact'`).Scan(&js))
	for _, want := range []string{`"column":"k_email"`, `"email_rules":"provider","column":"k_email__provider"`, `"md5":true,"column":"k_email__md5"`, `"column":"k_email__provider__md5"`} {
		require.Contains(t, js, want)
	}
	require.NoError(t, s.Close())

	s = openSQLite(t, path)
	fixture.Write(t, s, fixture.Create(fixture.Person("2", "jdoe@googlemail.com", "", "")))
	for _, spec := range []intake.KeySpec{provider, both} {
		k := keys[spec.Name()]
		require.Equal(t, []string{"1", "2"}, fixture.Lookup(t, s, spec, k)[k], spec.Name())
	}
	k := keys[hashed.Name()]
	require.Equal(t, []string{"1"}, fixture.Lookup(t, s, hashed, k)[k])
}

// TestMD5KeyAfterSchemaGrows: an MD5 key used before the schema had the
// field email_md5 finds, once the field is added, the records that hold
// only a digest there (the memory and SQLite sinks compile their key plans
// again when the schema grows).
func TestMD5KeyAfterSchemaGrows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	hashed := intake.KeySpec{Fields: []string{"email"}, MD5: true}
	withMD5 := intake.MustSchema(intake.ObjectContact, append(fixture.Contact.Fields(), intake.Field{Name: "email_md5", Type: intake.TypeText})...)
	for name, s := range map[string]interface {
		sink.Sink
		sink.Lookuper
		sink.SchemaEnsurer
	}{
		"memory": func() *memory.Store {
			m := memory.New(memory.Config{})
			t.Cleanup(func() { m.Close() })
			return m
		}(),
		"sqlite": openSQLite(t, filepath.Join(t.TempDir(), "md5.db")),
	} {
		fixture.Write(t, s, fixture.Create(fixture.Person("1", "a@example.com", "", "")))
		key := func(sch *intake.Schema, r *intake.Record) intake.Key {
			plan, err := sch.CompileKey(hashed)
			require.NoError(t, err)
			k, _ := plan.Key(r)
			return k
		}
		ka := key(fixture.Contact, fixture.Person("", "a@example.com", "", ""))
		require.Equal(t, []string{"1"}, fixture.Lookup(t, s, hashed, ka)[ka], name)

		require.NoError(t, s.EnsureSchema(ctx, withMD5), name)
		r := intake.NewRecord(withMD5)
		r.ID = "2"
		r.Set("email_md5", intake.Text(string(key(fixture.Contact, fixture.Person("", "b@example.com", "", "")))))
		fixture.Write(t, s, fixture.Create(r))
		kb := key(withMD5, r)
		res, err := s.Lookup(ctx, withMD5, hashed, []intake.Key{ka, kb})
		require.NoError(t, err, name)
		require.Equal(t, map[intake.Key][]string{ka: {"1"}, kb: {"2"}}, res, name)
	}
}
