// Package sqlsource reads the rows of a database query as a
// [connector.Source], through any database/sql driver: [New] runs a query
// on a [Queryer] (a *sql.DB, *sql.Conn or *sql.Tx) and returns a [Source]
// of its rows. It imports the standard library and package connector only;
// schedule runs the SQL jobs of a saved job store with it.
//
// Contracts:
//
//   - The header is the result's column names, checked like a file's
//     ([connector.CheckHeader]: two names equal ignoring case are an
//     error; rename them with AS).
//   - Cells are the values as text, as the mapping parses them (see
//     [Source] for each type's rendering); NULL is the empty cell.
//   - Row.Line counts as if the header were line 1, so that row errors
//     read like those of a file.
//   - The query's errors come from New; the driver's errors while reading
//     (a lost connection, a canceled ctx) are fatal and sticky. ctx given to
//     New bounds the whole read.
//   - Config.MaxRows bounds the rows read ([connector.ErrTooManyRows]).
//   - Close releases the rows and the connection they hold.
package sqlsource
