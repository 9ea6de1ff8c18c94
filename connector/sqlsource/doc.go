// Package sqlsource reads the rows of a database query, through any
// database/sql driver, as a [connector.Source].
package sqlsource
