// WAL benchmark (hadr bench wal); see wal_bench.h.
