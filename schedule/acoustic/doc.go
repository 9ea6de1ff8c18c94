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
// [Load] reads Acoustic Campaign's ImportList mapping files, root
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
// The XML is read strictly (no DTD entities expanded; UTF-8, ISO-8859-1
// and windows-1252; at most [MaxMapBytes]); element and column names are
// case-sensitive, as in Acoustic. Inconsistent files are rejected with
// every problem at once, each naming its element, line and value.
//
// # Job specs
//
// A [Map] gives the job: its Action, the sync key ([Map.Key]), the
// delimiter ([Map.DelimiterName]), HasHeaders, and a mapping.Spec
// ([Map.MappingSpec]) that maps columns by INDEX, reads date columns with
// LIST_DATE_FORMAT and declares the columns that the base schema lacks as
// custom fields (named by [Map.FieldName], labelled with their Acoustic
// names). [Map.JobSpec] puts them together into a contact import that
// validates; a map without a key is refused, since Intake matches rows on
// one.
//
// # The facade
//
// [NewHandler] answers POSTed Envelopes: ImportList saves a disabled job
// (the map's spec over [HandlerConfig].Job's) and queues a run of it;
// GetJobStatus reports the run's status and counts. Every request is
// authenticated (HandlerConfig.Actor) and authorized
// (HandlerConfig.Authorize, through schedule.Guard), both denying all when
// unset; MAP_FILE and SOURCE_FILE are plain names inside
// HandlerConfig.UploadDir. Errors answer SUCCESS false with a Fault whose
// text names every problem, and an HTTP status from schedule.HTTPStatus.
//
// # Errors
//
// Errors of this package start with "acoustic: "; those of a mapping file
// are joined with errors.Join, one line per problem.
package acoustic
