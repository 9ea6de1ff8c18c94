package postgres_test

import (
	"context"
	"fmt"
	"log"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/importer"
	"github.com/intakehq/intake/sink"
	"github.com/intakehq/intake/sink/postgres"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A host that runs its own migrations takes Intake's statements into them
// and sets Config.SkipMigrations.
func ExampleMigrations() {
	for _, q := range postgres.Migrations("crm") {
		fmt.Println(q + ";")
	}
	// Output:
	// CREATE SCHEMA IF NOT EXISTS "crm";
	// CREATE TABLE IF NOT EXISTS "crm".intake_schema (
	// 	object  text PRIMARY KEY,
	// 	version bigint NOT NULL DEFAULT 1,
	// 	schema  jsonb NOT NULL
	// );
	// CREATE TABLE IF NOT EXISTS "crm".intake_checkpoint (
	// 	run_id     text PRIMARY KEY,
	// 	source     text NOT NULL DEFAULT '',
	// 	last_line  bigint NOT NULL,
	// 	batches    bigint NOT NULL DEFAULT 0,
	// 	updated_at timestamptz NOT NULL,
	// 	pending    bigint[]
	// );
	// DO $do$
	// BEGIN
	// 	IF NOT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = 'crm' AND table_name = 'intake_checkpoint'
	// 		AND column_name = 'pending') THEN
	// 		ALTER TABLE "crm".intake_checkpoint ADD COLUMN IF NOT EXISTS pending bigint[];
	// 	END IF;
	// END
	// $do$;
	// CREATE TABLE IF NOT EXISTS "crm".intake_audit (
	// 	seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	// 	time      timestamptz NOT NULL,
	// 	object    text NOT NULL,
	// 	record_id text NOT NULL,
	// 	action    text NOT NULL,
	// 	reason    text NOT NULL,
	// 	actor     text NOT NULL DEFAULT '',
	// 	job       text NOT NULL DEFAULT '',
	// 	run_id    text NOT NULL DEFAULT '',
	// 	line      bigint NOT NULL DEFAULT 0,
	// 	field         text NOT NULL DEFAULT '',
	// 	target_object text NOT NULL DEFAULT '',
	// 	target_id     text NOT NULL DEFAULT ''
	// );
	// DO $do$
	// BEGIN
	// 	IF (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'crm' AND table_name = 'intake_audit'
	// 		AND column_name IN ('field', 'target_object', 'target_id')) < 3 THEN
	// 		ALTER TABLE "crm".intake_audit ADD COLUMN IF NOT EXISTS field text NOT NULL DEFAULT '',
	// 			ADD COLUMN IF NOT EXISTS target_object text NOT NULL DEFAULT '',
	// 			ADD COLUMN IF NOT EXISTS target_id text NOT NULL DEFAULT '';
	// 	END IF;
	// END
	// $do$;
	// DO $do$
	// BEGIN
	// 	IF NOT EXISTS (SELECT FROM pg_indexes WHERE schemaname = 'crm' AND indexname = 'intake_audit_record') THEN
	// 		CREATE INDEX IF NOT EXISTS intake_audit_record ON "crm".intake_audit (object, record_id);
	// 	END IF;
	// END
	// $do$;
	// CREATE TABLE IF NOT EXISTS "crm".intake_sequences (
	// 	name text PRIMARY KEY,
	// 	next bigint NOT NULL
	// );
	// CREATE TABLE IF NOT EXISTS "crm".intake_writes (
	// 	object text NOT NULL,
	// 	xact   xid8 NOT NULL,
	// 	PRIMARY KEY (object, xact)
	// );
	// CREATE TABLE IF NOT EXISTS "crm".intake_write_horizon (
	// 	object text PRIMARY KEY,
	// 	xact   xid8 NOT NULL
	// );
	// DO $do$
	// BEGIN
	// 	IF to_regprocedure('crm.intake_log_write()') IS NULL THEN
	// 		CREATE FUNCTION "crm".intake_log_write() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
	// 		BEGIN
	// 			INSERT INTO "crm".intake_writes (object, xact) VALUES (TG_ARGV[0], pg_current_xact_id()) ON CONFLICT DO NOTHING;
	// 			RETURN NULL;
	// 		END
	// 		$f$;
	// 	END IF;
	// END
	// $do$;
	// CREATE TABLE IF NOT EXISTS "crm".intake_undo_runs (
	// 	run_id    text PRIMARY KEY,
	// 	job       text NOT NULL DEFAULT '',
	// 	state     text NOT NULL,
	// 	reason    text NOT NULL DEFAULT '',
	// 	started   timestamptz NOT NULL,
	// 	expired   timestamptz,
	// 	undone_by text NOT NULL DEFAULT '',
	// 	last_seq  bigint NOT NULL,
	// 	objects   text[] NOT NULL DEFAULT '{}'
	// );
	// CREATE TABLE IF NOT EXISTS "crm".intake_undo (
	// 	run_id text NOT NULL,
	// 	seq    bigint NOT NULL,
	// 	time   timestamptz NOT NULL,
	// 	data   bytea NOT NULL,
	// 	PRIMARY KEY (run_id, seq)
	// );
	// DO $do$
	// BEGIN
	// 	IF (SELECT attstorage FROM pg_attribute WHERE attrelid = 'crm.intake_undo'::regclass AND attname = 'data') <> 'e' THEN
	// 		ALTER TABLE "crm".intake_undo ALTER COLUMN data SET STORAGE EXTERNAL;
	// 	END IF;
	// END
	// $do$;
	// DO $do$
	// BEGIN
	// 	DECLARE
	// 		r record;
	// 	BEGIN
	// 		FOR r IN SELECT c.oid, c.relname FROM pg_class c
	// 			JOIN pg_namespace n ON n.oid = c.relnamespace
	// 			JOIN "crm".intake_schema s ON c.relname = 'intake_' || s.object
	// 			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'seq' AND NOT a.attisdropped AND a.attidentity <> ''
	// 			WHERE n.nspname = 'crm' AND c.relkind = 'r'
	// 			ORDER BY c.relname
	// 		LOOP
	// 			BEGIN
	// 				EXECUTE (SELECT format('ALTER TABLE %I.%I DROP COLUMN seq', 'crm', r.relname) ||
	// 					coalesce(string_agg(format(', DROP CONSTRAINT %I', k.conname), ''), '')
	// 					FROM pg_constraint k JOIN pg_attribute i ON i.attrelid = r.oid AND i.attname = 'id'
	// 					WHERE k.conrelid = r.oid AND k.contype = 'u' AND k.conkey = ARRAY[i.attnum]);
	// 				EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN id TYPE text COLLATE "C", ADD PRIMARY KEY (id)', 'crm', r.relname);
	// 			EXCEPTION WHEN dependent_objects_still_exist OR invalid_table_definition THEN
	// 				RAISE WARNING 'intake: table %.% keeps its seq column: %', 'crm', r.relname, SQLERRM;
	// 			END;
	// 		END LOOP;
	// 	END;
	// END
	// $do$;
	// DO $do$
	// BEGIN
	// 	DECLARE
	// 		r record;
	// 	BEGIN
	// 		FOR r IN SELECT c.relname, s.object FROM pg_class c
	// 			JOIN pg_namespace n ON n.oid = c.relnamespace
	// 			JOIN "crm".intake_schema s ON c.relname = 'intake_' || s.object
	// 			WHERE n.nspname = 'crm' AND c.relkind = 'r'
	// 				AND NOT EXISTS (SELECT FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = 'intake_log_write')
	// 			ORDER BY c.relname
	// 		LOOP
	// 			EXECUTE format('CREATE TRIGGER intake_log_write AFTER INSERT OR UPDATE ON %I.%I FOR EACH STATEMENT EXECUTE FUNCTION %I.intake_log_write(%L)',
	// 				'crm', r.relname, 'crm', r.object);
	// 			EXECUTE format('ALTER TABLE %I.%I ENABLE ALWAYS TRIGGER intake_log_write', 'crm', r.relname);
	// 			INSERT INTO "crm".intake_write_horizon (object, xact) VALUES (r.object, pg_current_xact_id())
	// 				ON CONFLICT (object) DO UPDATE SET xact = EXCLUDED.xact;
	// 		END LOOP;
	// 	END;
	// END
	// $do$;
}

// The table of an object type, with its email key column, as EnsureSchema
// and the first Lookup by email would create it.
func ExampleObjectMigration() {
	s := intake.MustSchema("account",
		intake.Field{Name: "account_id", Type: intake.TypeID},
		intake.Field{Name: "name", Type: intake.TypeText},
		intake.Field{Name: "founded", Type: intake.TypeDate})
	stmts, err := postgres.ObjectMigration("crm", s, intake.Keys("account_id"))
	if err != nil {
		log.Fatal(err)
	}
	for _, q := range stmts[:2] {
		fmt.Println(q + ";")
	}
	// Output:
	// CREATE TABLE IF NOT EXISTS "crm"."intake_account" (
	// 	id text COLLATE "C" PRIMARY KEY,
	// 	opted_out boolean NOT NULL DEFAULT false,
	// 	inactive boolean NOT NULL DEFAULT false,
	// 	created_at timestamptz NOT NULL,
	// 	updated_at timestamptz NOT NULL,
	// 	"account_id" text,
	// 	"name" text,
	// 	"founded" date,
	// 	"k_account_id" text COLLATE "C"
	// );
	// CREATE INDEX IF NOT EXISTS "intake_account_k_account_id" ON "crm"."intake_account" ("k_account_id");
}

// The host opens the pool (and closes it); the sink uses it.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal:5432/crm")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := postgres.New(ctx, pool, postgres.Config{Schema: "intake"})
	if err != nil {
		log.Fatal(err)
	}
	im, err := importer.New(importer.Config{Sink: store})
	if err != nil {
		log.Fatal(err)
	}
	_ = im // im.Run(ctx, importer.Job{…})
}

// Intake writes contacts into the host's own table. Fields without a column
// (custom fields) go into the jsonb column attrs; the email key is a
// generated column of the host's, which Lookup compares.
//
//	CREATE TABLE contacts (
//		pk           bigint GENERATED ALWAYS AS IDENTITY,
//		id           uuid PRIMARY KEY,
//		email        varchar(320),
//		email_key    text GENERATED ALWAYS AS (lower(btrim(email))) STORED,
//		given_name   text,
//		family_name  text,
//		unsubscribed boolean NOT NULL DEFAULT false,
//		attrs        jsonb NOT NULL DEFAULT '{}',
//		inserted_at  timestamptz NOT NULL DEFAULT now(),
//		modified_at  timestamptz
//	);
//	CREATE INDEX ON contacts (email_key);
func Example_hostTable() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://app@db.internal:5432/crm")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store, err := postgres.New(ctx, pool, postgres.Config{
		Tables: map[string]sink.TableMapping{intake.ObjectContact: {
			Table:       "public.contacts",
			IDColumn:    "id",
			Columns:     map[string]string{"email": "email", "first_name": "given_name", "last_name": "family_name"},
			JSONBColumn: "attrs",
			KeyColumns:  map[string]string{"email": "email_key"},
			OptedOut:    "unsubscribed",
			CreatedAt:   "inserted_at",
			UpdatedAt:   "modified_at",
			OrderColumn: "pk",
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = store
}
