//! Times prefix searches of `start_indexer`'s default engine: indexes DIR
//! with a pool (default options), then answers the prefixes of 1 to 4
//! characters of a sample of the indexed words, and prints the median,
//! quartiles and max per prefix length, twice: the search alone (from
//! sending the pattern until every word's files have been merged, as
//! numbers: [`Pool::for_each_match_placed`]), and the search with every
//! file's name looked up ([`Pool::for_each_match`], what printing adds
//! before it writes). Nothing is printed or copied.
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
    println!(
        "{} words, {sample} prefixes per length drawn every {step} words",
        words.len()
    );
    for len in 1..=4 {
        let prefixes: Vec<String> = words
            .iter()
            .step_by(step)
            .map(|w| w.chars().take(len).collect())
            .collect();
        // Timed: from sending the pattern to the workers until the last
        // word's files have been merged (each word's files as their places
        // in name order, sorted, handed to a closure that adds up their
        // number); nothing is printed or copied.
        let (mut search, mut matched, mut files) = (Vec::new(), 0usize, 0usize);
        // Timed the same, the closure also looking up every file's name
        // (a `&str` per file, as printing does).
        let mut named = Vec::new();
        for prefix in &prefixes {
            let started = Instant::now();
            pool.for_each_match_placed(prefix, |_, placed| {
                matched += 1;
                files += placed.len();
                Ok(())
            })
            .expect("search");
            search.push(started.elapsed().as_secs_f64() * 1e3);
            let mut bytes = 0;
            let started = Instant::now();
            pool.for_each_match(prefix, |_, names| {
                bytes += names.iter().map(|n| n.len()).sum::<usize>();
                Ok(())
            })
            .expect("search");
            named.push(started.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(bytes);
        }
        let n = prefixes.len() as f64;
        println!(
            "prefix of {len}: {} searches, {:.1} words and {:.0} (word, file) entries matched on average",
            prefixes.len(),
            matched as f64 / n,
            files as f64 / n,
        );
        for (what, times) in [("search", &mut search), ("with names", &mut named)] {
            times.sort_by(f64::total_cmp);
            #[allow(
                clippy::cast_possible_truncation,
                reason = "a quantile's position, between 0 and the last index"
            )]
            let q = |f: f64| times[((times.len() - 1) as f64 * f) as usize];
            println!(
                "  {what:>10}: ms median {:.3}, p25 {:.3}, p75 {:.3}, max {:.3}",
                q(0.5),
                q(0.25),
                q(0.75),
                q(1.0)
            );
        }
    }
}
