//! Times prefix searches of `start_indexer`'s default engine: indexes DIR
//! with a pool (default options), then answers every prefix of 1 to 4
//! characters of a sample of the indexed words, collecting the matches
//! (no printing), and prints the median, quartiles and max per prefix
//! length.
//!
//! ```text
//! indexer-query DIR [SAMPLE]
//! ```

use std::path::PathBuf;
use std::time::Instant;

use pprocess_examples::indexer::WalkOptions;
use pprocess_examples::indexer::pool::{Files, Pool, PoolOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: indexer-query DIR [SAMPLE]");
        std::process::exit(2);
    };
    let sample: usize = args.get(1).map_or(200, |s| s.parse().expect("SAMPLE"));
    let files = Files::Walk {
        dir: PathBuf::from(dir),
        options: WalkOptions::default(),
    };
    let (mut pool, summary) =
        Pool::index(files, &PoolOptions::default(), |_| {}).expect("indexing");
    eprintln!(
        "indexed {} files in {:.2} s, {} entries",
        summary.files,
        summary.elapsed.as_secs_f64(),
        summary.entries
    );
    // Every word, to draw the prefixes from (evenly spaced).
    let mut words = Vec::new();
    pool.for_each_match("", |word, _| {
        words.push(word.to_owned());
        Ok(())
    })
    .expect("listing");
    let step = (words.len() / sample).max(1);
    for len in 1..=4 {
        let mut times = Vec::new();
        let mut matched = 0;
        for word in words.iter().step_by(step) {
            let prefix: String = word.chars().take(len).collect();
            let started = Instant::now();
            let found = pool.search(&prefix).expect("search");
            times.push(started.elapsed().as_secs_f64() * 1e3);
            matched += found.len();
        }
        times.sort_by(f64::total_cmp);
        #[allow(
            clippy::cast_possible_truncation,
            reason = "a quantile's position, between 0 and the last index"
        )]
        let q = |f: f64| times[((times.len() - 1) as f64 * f) as usize];
        println!(
            "prefix of {len}: {} searches, {:.1} words matched on average; ms: median {:.3}, p25 {:.3}, p75 {:.3}, max {:.3}",
            times.len(),
            matched as f64 / times.len() as f64,
            q(0.5),
            q(0.25),
            q(0.75),
            q(1.0)
        );
    }
}
