// Package sqltable holds what the SQLite and PostgreSQL stores share about
// the tables they write: identifier quoting, the column of a field and of
// a key spec, a stored column's JSON, the values of a JSON column's
// members, and the defaults of a [sink.TableMapping].
package sqltable
