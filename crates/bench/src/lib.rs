//! trustmap's benchmarks, one binary each under `src/bin/` (run them with `cargo run
//! --release -p trustmap-bench --bin NAME`). The library is empty: shared measuring helpers
//! (peak memory, corpora) live in `trustmap-testkit`, which tests use too.
