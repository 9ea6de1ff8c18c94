// Package acoustic is Intake's support for Acoustic Campaign's list
// imports, in one place: [Load] reads an ImportList mapping file into a
// [Map], [Map.JobSpec] turns it into an importer.JobSpec that runs like any
// other (from Go, as a saved job, in the CLI's -acoustic-map), and
// [NewHandler] answers Acoustic's XML API for ImportList and GetJobStatus
// by saving and queuing jobs of a schedule.Scheduler, so that systems
// written against that API can point at a host running Intake. It composes
// packages mapping, importer and schedule, none of which imports it.
//
// # Mapping files
//
// [Load] reads a mapping file (root LIST_IMPORT) strictly: no DTD
// entities expanded; UTF-8, ISO-8859-1 and windows-1252; at most
// [MaxMapBytes]; element and column names case-sensitive, as in Acoustic.
// Its result separates two kinds of finding:
//
//   - errors: a map Intake cannot run as its author meant — XML that does
//     not parse, an unknown or repeated element, a missing ACTION or
//     MAPPING, an unknown action or TYPE code, a bad number or boolean, a
//     name mapped twice, a MAPPING NAME that the COLUMNS do not declare, a
//     sync field not mapped, a consent column without CONSENT,
//     USE_RECIPIENT_ID without a RECIPIENT_ID column, MD5 digests on a key
//     of several columns, an update without any key, CONTACT_LISTS with
//     OPT_OUT, a bad LIST_DATE_FORMAT. Load returns them all at once
//     ([errors.Join]), each naming its element, line and value;
//   - warnings ([Map].Warnings, [Warning]): an element without effect in
//     Intake, named once; an element Acoustic needs and Intake does not
//     (LIST_ID: the host chooses the store); a choice Intake made where
//     the map is silent. They never stop a job.
//
// # Elements
//
// Each element of the documented LIST_IMPORT, and what Intake does with it
// (W: a warning names it when present; E: an error when inconsistent):
//
//	LIST_INFO/ACTION             the record action (see Actions below)
//	LIST_INFO/LIST_TYPE          W: no effect; the job's store is the database (no seed or suppression lists)
//	LIST_INFO/LIST_NAME          names the job; W when missing on CREATE
//	LIST_INFO/LIST_ID            names the job; W when missing (any action but CREATE) or given on CREATE
//	LIST_INFO/LIST_VISIBILITY    W: no effect
//	LIST_INFO/PARENT_FOLDER_PATH W: no effect
//	LIST_INFO/FILE_TYPE          the delimiter: 0 comma, 1 tab, 2 pipe
//	LIST_INFO/HASHEADERS         the header row (true when absent or empty)
//	LIST_INFO/LIST_DATE_FORMAT   the format of date and timestamp columns (default mm/dd/yyyy); E when bad
//	LIST_INFO/DOUBLE_OPT_IN      W when true: Intake sends no confirmation e-mail
//	LIST_INFO/ENCODED_AS_MD5     EMAIL holds MD5 digests: field email_md5 (id), matched on md5(email); E on a composite key
//	LIST_INFO/USE_RECIPIENT_ID   RECIPIENT_ID matched on the record id, before the sync fields; E without that column
//	CONSENT/CHANNEL              the consent channel: SMS → sms, blank → email (identity.Channel)
//	CONSENT/TEXT_TO_JOIN_PROGRAM_ID  W: no effect
//	CONSENT/HONOR_OPT_OUT_STATUS true or blank: an opted-out contact stays opted out; false or missing (W): the file's status wins
//	CONSENT/OVERRIDE_ON_NO_CHANGE true: consent date and source replaced even when the status is unchanged
//	SYNC_FIELDS/SYNC_FIELD/NAME  the columns that together identify a contact; E when not mapped
//	COLUMNS/COLUMN/NAME          the field name ([Map.FieldName]) and its label
//	COLUMNS/COLUMN/TYPE          the type of a new field (see Types); E when unknown
//	COLUMNS/COLUMN/IS_REQUIRED   field metadata "acoustic_required": a web-form setting, never enforced
//	COLUMNS/COLUMN/KEY_COLUMN    the key when there are no SYNC_FIELDS; W when not mapped
//	COLUMNS/COLUMN/DEFAULT_VALUE field metadata "acoustic_default" (used by Acoustic's send process), never written into records
//	COLUMNS/COLUMN/SELECTION_VALUES  the options of a select (TYPE 6, 8, 20); W on other types (ignored)
//	MAPPING/COLUMN/INDEX         the 1-based source column
//	MAPPING/COLUMN/NAME          a COLUMNS name or a system name (EMAIL, EMAIL_TYPE, CREATED_FROM, OPTED_IN,
//	                             OPT_IN_DETAILS, OPTED_OUT, RECIPIENT_ID; with CONSENT: CONSENT_STATUS_CODE,
//	                             CONSENT_DATE, CONSENT_SOURCE); OPTED_IN and OPTED_OUT are kept as the fields
//	                             opted_in_date and opted_out_date (W: they change no status)
//	MAPPING/COLUMN/INCLUDE       false skips the column
//	MAPPING/COLUMN/IS_CONSENT    marks the channel's contact column (the note says so); W without CONSENT
//	CONTACT_LISTS/CONTACT_LIST_ID  lists the imported contacts join ("lists"); E with OPT_OUT
//
// # Actions
//
// The key is SYNC_FIELDS, else the mapped KEY_COLUMN columns, else — for
// the actions that change stored contacts — EMAIL (a warning says so);
// USE_RECIPIENT_ID puts the record id first ([Map.Rules]). Then, as
// Acoustic documents:
//
//	CREATE          no key: every row is a new contact; a key: later rows of a key are rejected (duplicate)
//	ADD_ONLY        no key: every row is a new contact; a key: a key the store holds, or met twice, is rejected (exists, duplicate)
//	UPDATE_ONLY     every record the key matches is updated; rows that match nothing are skipped (no_match)
//	ADD_AND_UPDATE  every match is updated; the others are created
//	OPT_OUT         every match is opted out; the others are skipped; nothing is created
//
// # Types
//
// TYPE codes become the types of the fields a map adds: 0 text, 1 bool,
// 2 decimal, 3 date, 4 time, 5 country, 6 select, 8 select (text without
// SELECTION_VALUES), 9 email on EMAIL and id on RECIPIENT_ID (text
// elsewhere, with a warning), 15 and 16 phone, 17 timestamp, 20
// multiselect. A column that is a field of the contact schema keeps that
// field's type. Acoustic does not validate data against column types, and
// by default neither does a map's job: a cell its field cannot parse
// leaves the field empty and is reported as a warning of the run
// (importer.Report.Warnings). Set [Map].StrictTypes (the facade's
// HandlerConfig.StrictTypes) to reject such rows instead. EMAIL,
// RECIPIENT_ID and CONSENT_STATUS_CODE are always checked. Timestamp
// columns and CONSENT_DATE read LIST_DATE_FORMAT followed by HH:mm:ss,
// HH:mm, or nothing (midnight).
//
// # The facade
//
// [NewHandler] answers POSTed Envelopes: ImportList saves a disabled job
// (the map's spec over [HandlerConfig].Job's) and queues a run of it; its
// JOB_ID is the run's id, and GetJobStatus reports the run's status and
// counts in Acoustic's envelope. As in Acoustic, the map is checked as the
// job runs: a map with errors still answers SUCCESS with a JOB_ID, whose
// status is ERROR with every problem; its warnings are listed as WARNING
// parameters. Every request is authenticated (HandlerConfig.Actor) and
// authorized (HandlerConfig.Authorize, through schedule.Guard), both
// denying all when unset; MAP_FILE and SOURCE_FILE are plain names inside
// HandlerConfig.UploadDir.
//
// # Errors
//
// Errors of this package start with "acoustic: "; those of a mapping file
// are joined with errors.Join, one line per problem.
package acoustic
