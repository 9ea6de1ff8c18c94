// Package acoustic is Intake's support for Acoustic Campaign's list
// imports, in one place: it reads an ImportList mapping file
// ([LoadAcoustic]), turns it into a job spec ([AcousticSpec]) that runs
// like any other (from Go, as a saved job, in the CLI's -acoustic-map), and
// answers Acoustic's XML API for ImportList and GetJobStatus
// ([NewAcousticHandler]) by saving and queuing jobs of a schedule.Scheduler.
// It composes packages mapping, importer and schedule, none of which
// imports it.
//
// # Mapping files
//
// [LoadAcoustic] reads Acoustic Campaign's ImportList mapping files, root
// LIST_IMPORT:
//
//   - LIST_INFO: ACTION (CREATE, ADD_ONLY, UPDATE_ONLY, ADD_AND_UPDATE,
//     OPT_OUT), LIST_TYPE, LIST_NAME (CREATE), LIST_ID (other actions),
//     LIST_VISIBILITY, PARENT_FOLDER_PATH, FILE_TYPE (0 comma, 1 tab,
//     2 pipe), HASHEADERS, LIST_DATE_FORMAT (month MM/M/MMM/MMMM — lower-case
//     mm too —, day dd/d, year yyyy/yy; default mm/dd/yyyy), DOUBLE_OPT_IN,
//     ENCODED_AS_MD5, USE_RECIPIENT_ID;
//   - CONSENT: CHANNEL, TEXT_TO_JOIN_PROGRAM_ID, HONOR_OPT_OUT_STATUS,
//     OVERRIDE_ON_NO_CHANGE;
//   - SYNC_FIELDS/SYNC_FIELD/NAME;
//   - COLUMNS/COLUMN: NAME, TYPE (0 text, 1 bool, 2 decimal, 3 date, 4 time,
//     5 country, 6 and 8 select, 9 email, 15 and 16 phone, 17 timestamp, 20
//     multiselect), IS_REQUIRED, KEY_COLUMN, DEFAULT_VALUE,
//     SELECTION_VALUES/VALUE;
//   - MAPPING/COLUMN: INDEX, NAME (case-sensitive; a COLUMNS name or a
//     system name such as EMAIL), INCLUDE, IS_CONSENT;
//   - CONTACT_LISTS/CONTACT_LIST_ID.
//
// The resulting [AcousticImport] gives the job: its Action, the sync key
// ([AcousticImport.Key]), the delimiter ([AcousticImport.DelimiterName]),
// HasHeaders, and a [mapping.Spec] ([AcousticImport.Spec]) that maps columns by
// INDEX, reads date columns with LIST_DATE_FORMAT and declares the columns
// that the base schema lacks as custom fields (named by
// [AcousticImport.FieldName], labelled with their Acoustic names).
// Inconsistent files are rejected with every problem, naming element, line
// and value.
package acoustic
