// Dedupe benchmark (hadr bench dedupe); see dedupe_bench.h.
