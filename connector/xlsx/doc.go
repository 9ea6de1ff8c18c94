// Package xlsx reads the rows of one worksheet of an Excel workbook
// (.xlsx, .xlsm, Strict or Transitional OOXML) as a [connector.Source]:
// [Open] opens a file, [New] reads a workbook held in an io.ReaderAt (an
// upload), [ListSheets] lists the sheets for a user to choose from, and
// [Register] makes a [connector.Registry] open workbooks
// ([connector.FormatXLSX]) in [connector.Registry.OpenSource], with the
// sheet options of connector.SourceConfig.Workbook. It is a package of its
// own because it depends on excelize; a host that reads only CSV does not
// import it, and packages that pass a job's sheet on (importer, schedule)
// need only connector.WorkbookOptions.
//
// # Reading
//
// The worksheet is streamed, one row in memory at a time; the workbook's
// sheet list, date system, cell styles and shared strings are read when the
// source is opened. The sheet and the shared strings, the big parts, are
// read with a tokenizer of the package's own that reads the XML in place
// and checks what encoding/xml's strict mode checks (names, quoting,
// references, UTF-8, the XML character range, matching end tags); the
// small parts with encoding/xml. A row's cells share one string (shared
// strings apart), as encoding/csv's fields do.
// excelize (github.com/xuri/excelize/v2) decrypts password-protected
// workbooks. Its Rows iterator is not used for reading, because its Columns
// give neither a cell's type nor its style (no way to tell a date from a
// number or TRUE from 1 in raw mode), it ignores XML syntax errors (a broken
// or hostile sheet ends early without error) and it inflates every part of
// the zip when the workbook is opened.
//
// # Cells
//
// Cells become text the mapping's default parsing reads:
//
//   - shared strings, inline strings and rich text as their text (phonetic
//     runs left out, _xHHHH_ escapes decoded, white space kept);
//   - numbers as stored: an integer exactly as written (a 13-digit phone or
//     id stays exact), any other number rounded to Excel's 15 significant
//     digits and written without exponent (0.30000000000000004 is 0.3,
//     1E-3 is 0.001); display formats (thousands separators, percent,
//     currency) are not applied;
//   - a number whose format is a date or time, in the 1900 or the 1904 date
//     system as the workbook says: "yyyy-MM-dd" for a date format,
//     "yyyy-MM-dd HH:mm:ss" for a date-and-time format, "HH:mm:ss" for a
//     time format, "H:mm:ss" in whole hours for an elapsed format
//     ([h]:mm:ss); seconds are rounded; Excel's phantom 1900-02-29 (serial
//     60) reads as 1900-02-29; ISO dates stored as text cells (t="d") are
//     rendered the same way;
//   - booleans as "true" and "false";
//   - a formula as its cached value (the result Excel saved); a formula
//     never calculated reads as an empty cell;
//   - an error value (#N/A, #DIV/0!, ...) rejects its row with
//     [intake.CodeCellError], the error text being the cell's value, unless
//     Config.KeepErrorCells keeps it as plain text;
//   - a merged range's value is in its top-left cell only; its other cells
//     are empty, as Excel stores them and as a formula referring to them
//     sees them.
//
// # Rows
//
// Row.Line is the row's number in the sheet (1-based, as Excel
// shows). Rows without a value are skipped. The header is the first row with
// a value (or Config.HeaderRow; rows above it are skipped), trimmed,
// with trailing empty cells dropped; names equal ignoring case are
// [connector.ErrDuplicateHeader]. Columns count from A, so a table that starts in
// column B has an unnamed empty first column. Every data row has exactly
// the header's width: shorter rows are padded with empty cells, and a value
// right of the header's last column rejects the row with wrong_field_count
// (the row's cells within the header come with the error). Hidden rows and
// columns are read like the others.
//
// # Sheets
//
// A Source reads one sheet, chosen by name (Config.Sheet), by position (SheetNumber), or by
// default the first visible worksheet: hidden sheets, very hidden sheets and
// chart sheets are listed by [ListSheets] but never chosen by default.
//
// # Safety
//
// [Config] bounds what a workbook may make the reader do, with defaults
// far above real exports. The zip's declared sizes are
// checked before anything is inflated (MaxUnzipBytes, MaxCompressionRatio),
// and the bytes actually inflated are counted again, so that a zip lying
// about its sizes is refused ([ErrBomb]); an XML part with a document
// type declaration is refused ([ErrBomb]: Excel never writes one, and it
// is how entity-expansion bombs work); a shared string longer than
// MaxCellBytes, or a text node longer than about 6 times MaxCellBytes in any
// part, is refused before it is buffered; MaxTotalCellBytes bounds the text
// handed out, each use of a shared string counted in full, so a small table
// of long strings referenced by many cells cannot become gigabytes. An
// encrypted workbook is [ErrPasswordProtected] unless Config.Password
// opens it; a legacy .xls is [ErrFormat].
//
// # Errors
//
// Fatal errors wrap a sentinel error (test with [errors.Is]) and name the
// workbook, the sheet and the row: [ErrPasswordProtected], [ErrFormat],
// [ErrTooLarge] (the message names the Config field to raise), [ErrBomb],
// [ErrSheetNotFound], [ErrSheetEmpty], and connector.ErrMissingHeader and
// connector.ErrDuplicateHeader for the header. A row error
// (*intake.RowError, the row comes with it and reading goes on) has the
// code cell_error ([intake.CodeCellError]), cell_too_long or wrong_field_count.
package xlsx
