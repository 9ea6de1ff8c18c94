package sink

// Concurrent is the capability of a [Sink] to be called from several
// goroutines at once: Lookup and Get while a Write is under way. When a sink
// implements it and Concurrent returns true, the importer looks up and
// decides the next batch while the previous one is being written, which
// roughly halves the time spent waiting on the sink. A Lookup that runs
// during a Write may see the store before or after that Write, never half of
// it. Without it the importer calls the sink from one goroutine at a time.
type Concurrent interface {
	Concurrent() bool
}

// Concurrent reports true: the memory sink is safe for concurrent use.
func (m *Memory) Concurrent() bool { return true }

// Concurrent reports true: the SQLite sink serializes writes and lets reads
// run beside them, each on its own connection of the pool.
func (s *SQLite) Concurrent() bool { return true }

// BatchSizer is the capability of a [Sink] to say how many operations it
// writes best in one call: the importer uses it as its batch size when
// Config.BatchSize is not set. A store that pays for each transaction
// (SQLite's commit and WAL checkpoint) asks for larger batches; memory use
// grows with the batch (two batches are in flight at once).
type BatchSizer interface {
	BatchSize() int
}

// BatchSize reports 20,000. Each commit writes every page the batch dirtied
// to the WAL, and a key index takes its inserts at random places, so a
// larger batch dirties each index page for more rows and writes it once;
// beyond 20,000 the gain is small and the importer's memory grows with the
// batch (two batches are in flight at once).
func (s *SQLite) BatchSize() int { return 20_000 }

// GuardsKeys reports true: the memory sink applies [Op.Unique] under its
// write lock.
func (m *Memory) GuardsKeys() bool { return true }

// GuardsKeys reports true: the SQLite sink applies [Op.Unique] in the
// batch's IMMEDIATE transaction, which holds the database's write lock.
func (s *SQLite) GuardsKeys() bool { return true }

// GuardsKeys reports true: the PostgreSQL sink applies [Op.Unique] under
// advisory transaction locks on the keys it checks (see [Postgres]).
func (p *Postgres) GuardsKeys() bool { return true }

// GuardsKeys reports true: the host-table sink applies [Op.Unique] in its
// write transaction, which takes the database's write lock before it
// checks the keys. The host's database should set a busy timeout
// (_pragma=busy_timeout(5000)) so that writers wait for each other
// instead of failing with SQLITE_BUSY.
func (t *SQLiteTable) GuardsKeys() bool { return true }
