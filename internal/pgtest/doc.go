// Package pgtest gives tests a PostgreSQL database to work in. The tests
// that need PostgreSQL run when the environment variable
// INTAKE_TEST_POSTGRES holds a connection URL
// (postgres://postgres@127.0.0.1:5432/test?sslmode=disable) and skip, with
// a message saying how to run them, when it is unset.
//
// Each test works in a schema of its own ([Schema]), which is dropped when
// the test ends, so that tests run in parallel and a failed run leaves
// nothing behind; [Pool] returns a pool whose connections work in such a
// schema, and [NewPool] further pools on the same schema, each closed when
// the test ends.
package pgtest
