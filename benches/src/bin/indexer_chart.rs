//! Wall time against corpus size for each engine: runs the cases of
//! `indexer-compare` (see `pprocess_benches::indexer::run`) on several
//! directories, prints a Markdown table of the medians (min..max) and
//! writes the chart as SVG.
//!
//! ```text
//! cargo build --release -p pprocess-examples --bin start_indexer --bin make_corpus \
//!     -p pprocess-benches --bin indexer-baseline --bin indexer-chart
//! for mb in 25 50 100 200 400; do
//!     target/release/make_corpus /tmp/corpus-$mb --files $((mb * 10)) --bytes ${mb}000000
//! done
//! target/release/indexer-chart --runs 3 --svg docs/indexer-chart.svg \
//!     --cases single,rayon,default,pprocess --slow pprocess --slow-max-mb 120 \
//!     /tmp/corpus-{25,50,100,200,400} /usr/share/doc "$(rustc --print sysroot)/share/doc/rust/html"
//! ```
//!
//! `--slow A,B --slow-max-mb N` runs the cases `A` and `B` only on the
//! corpora of at most N MB (pprocess's shape takes minutes on the larger
//! ones); their lines then have fewer points, and their cells say `-`.
//!
//! A corpus's size is the bytes of its text files (binary ones, a NUL byte
//! in the first 8 KiB, are skipped by every engine and not counted), as the
//! walk of `start_indexer` finds them. Each directory is measured in turn:
//! one untimed run of each case (warm page cache), then `--runs` rounds of
//! the cases one after the other. The load average is printed before and
//! after each directory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use pprocess_benches::indexer::chart::{Series, svg};
use pprocess_benches::indexer::run::{Case, Measure, case, load, run, stats};
use pprocess_examples::indexer::scan::{BINARY_PREFIX, is_binary};
use pprocess_examples::indexer::{WalkOptions, list_files};

/// The text files of `dir` and their bytes.
fn text_size(dir: &Path) -> (usize, u64) {
    let (paths, _) = list_files(dir, &WalkOptions::default());
    let (mut files, mut bytes) = (0, 0);
    let mut head = vec![0; BINARY_PREFIX];
    for path in paths {
        let Ok(mut file) = File::open(&path) else {
            continue;
        };
        let Ok(meta) = file.metadata() else { continue };
        let mut n = 0;
        while n < head.len() {
            match file.read(&mut head[n..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        if !is_binary(&head[..n]) {
            files += 1;
            bytes += meta.len();
        }
    }
    (files, bytes)
}

/// A directory, its text files and their megabytes, and each case's
/// median, min and max (`None` if it was not run there).
type Row = (String, usize, f64, Vec<Option<(f64, f64, f64)>>);

fn fail(e: &str) -> ! {
    eprintln!("indexer-chart: {e}");
    std::process::exit(2);
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let (mut runs, mut names, mut out) = (3, "single,rayon,default,pprocess".to_owned(), None);
    let (mut slow, mut slow_max) = (String::new(), f64::INFINITY);
    while args.len() > 1 && args[0].starts_with("--") {
        let value = args[1].clone();
        match args[0].as_str() {
            "--runs" => runs = value.parse().unwrap_or_else(|_| fail("--runs N")),
            "--cases" => names = value,
            "--svg" => out = Some(value),
            "--slow" => slow = value,
            "--slow-max-mb" => {
                slow_max = value.parse().unwrap_or_else(|_| fail("--slow-max-mb N"));
            }
            other => fail(&format!("unknown option {other}")),
        }
        args.drain(..2);
    }
    if args.is_empty() || runs == 0 {
        eprintln!("usage: indexer-chart [--runs N] [--cases a,b,...] [--svg OUT.svg] DIR [DIR...]");
        std::process::exit(2);
    }
    let bin = std::env::current_exe().expect("own path");
    let bin_dir = bin.parent().expect("in a directory");
    let names: Vec<&str> = names.split(',').collect();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!("{runs} rounds per directory; {cpus} CPUs available");

    let mut rows: Vec<Row> = Vec::new();
    for dir in &args {
        let (files, bytes) = text_size(Path::new(dir));
        #[allow(clippy::cast_precision_loss, reason = "a size in MB, for a chart")]
        let mb = bytes as f64 / 1e6;
        let cases: Vec<Option<Case>> = names
            .iter()
            .map(|name| {
                if mb > slow_max && slow.split(',').any(|s| s == *name) {
                    return Ok(None);
                }
                case(name, dir, bin_dir).map(Some)
            })
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| fail(&e));
        println!("{dir}: {files} text files, {mb:.1} MB; before: {}", load());
        let timed = |case: &Case| run(case, Measure::Wall).unwrap_or_else(|e| fail(&e));
        for case in cases.iter().flatten() {
            timed(case);
        }
        let mut walls: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
        for _ in 0..runs {
            for (case, walls) in cases.iter().zip(&mut walls) {
                if let Some(case) = case {
                    walls.push(timed(case));
                }
            }
        }
        let cells: Vec<_> = walls
            .iter()
            .map(|w| (!w.is_empty()).then(|| stats(w)))
            .collect();
        let shown: Vec<String> = names
            .iter()
            .zip(&cells)
            .filter_map(|(name, cell)| cell.map(|c| format!("{name} {:.3} s", c.0)))
            .collect();
        println!("{dir}: after: {}; medians: {}", load(), shown.join(", "));
        rows.push((dir.clone(), files, mb, cells));
    }

    println!();
    let header: Vec<String> = names.iter().map(|n| format!("{n} (s)")).collect();
    println!("| corpus | text files | MB | {} |", header.join(" | "));
    println!("| --- | --- | --- |{}", " --- |".repeat(names.len()));
    for (dir, files, mb, cells) in &rows {
        let cells: Vec<String> = cells
            .iter()
            .map(|cell| {
                cell.map_or("-".to_owned(), |(m, lo, hi)| {
                    format!("{m:.3} ({lo:.3}..{hi:.3})")
                })
            })
            .collect();
        println!("| {dir} | {files} | {mb:.1} | {} |", cells.join(" | "));
    }
    if let Some(out) = out {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| rows[a].2.total_cmp(&rows[b].2));
        let series: Vec<Series> = names
            .iter()
            .enumerate()
            .map(|(i, name)| Series {
                name: (*name).to_owned(),
                points: order
                    .iter()
                    .filter_map(|&r| rows[r].3[i].map(|c| (rows[r].2, c.0)))
                    .collect(),
            })
            .collect();
        let picture = svg(
            &format!("Indexing: wall time (median of {runs}) against corpus size, {cpus} CPUs"),
            "MB of text",
            "seconds",
            &series,
        );
        std::fs::write(&out, picture).unwrap_or_else(|e| fail(&format!("cannot write {out}: {e}")));
        println!("\nchart written to {out}");
    }
}
