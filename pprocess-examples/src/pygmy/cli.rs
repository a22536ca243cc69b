//! The `pygmy` command line: options, the run, what it prints.

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use pprocess_exchange::num_cores;

use super::mode::{Mode, render};
use super::scene::pprocess_scene;

/// The largest side accepted by `--size`.
const MAX_SIDE: usize = 10_000;

/// The options of `pygmy`.
#[derive(Debug, Clone, Parser)]
#[command(
    version,
    about = "Renders pprocess's PyGmy scene (spheres, a plane, two lights, \
             reflections, occlusion sampling) to a PNG, sequentially or in \
             parallel, and prints the time taken."
)]
pub struct Options {
    /// How the rows are rendered: in this process, with pmap, with a
    /// Queue (a child per row), or with reused workers.
    #[arg(long, value_enum, default_value_t = Mode::Pmap)]
    pub mode: Mode,
    /// The most processes rendering at once (ignored by --mode seq).
    #[arg(
        long,
        default_value_t = num_cores(),
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    pub limit: usize,
    /// The PNG file to write.
    #[arg(long, value_name = "FILE", default_value = "pygmy.png")]
    pub output: PathBuf,
    /// The image's size in pixels, WIDTHxHEIGHT (pprocess renders 300x200).
    #[arg(long, value_name = "WxH", default_value = "300x200", value_parser = parse_size)]
    pub size: (usize, usize),
}

/// Parses `WIDTHxHEIGHT`, each side from 1 to [`MAX_SIDE`].
fn parse_size(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("{text:?} is not a size such as 300x200 (sides 1 to {MAX_SIDE})");
    let (w, h) = text.split_once('x').ok_or_else(bad)?;
    let side = |s: &str| {
        s.parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_SIDE).contains(n))
            .ok_or_else(bad)
    };
    Ok((side(w)?, side(h)?))
}

/// Where the rows are rendered.
#[derive(Clone, Copy)]
enum Workers<'a> {
    /// Forked workers, `--limit` at once.
    Forked,
    /// The ranks of an MPI job other than 0.
    #[cfg(feature = "mpi")]
    Ranks(&'a pprocess_mpi::Cluster),
    #[cfg(not(feature = "mpi"))]
    #[allow(dead_code, reason = "only the feature mpi borrows a cluster")]
    None(std::marker::PhantomData<&'a ()>),
}

/// Renders the scene as `options` say, writes the PNG and prints the time.
///
/// # Errors
///
/// A message saying what failed: the output file, a row, a child.
pub fn run(options: &Options) -> Result<(), String> {
    run_in(options, Workers::Forked)
}

/// [`run`] on the ranks of an MPI job (the ranks other than 0 render;
/// `--limit` applies to nothing): the same output, the same picture.
///
/// # Errors
///
/// As for [`run`].
#[cfg(feature = "mpi")]
pub fn run_on(options: &Options, cluster: &pprocess_mpi::Cluster) -> Result<(), String> {
    run_in(options, Workers::Ranks(cluster))
}

fn run_in(options: &Options, workers: Workers<'_>) -> Result<(), String> {
    let (width, height) = options.size;
    let world = pprocess_scene(width, height);
    let mut out = io::stdout().lock();
    let limit = match workers {
        #[cfg(feature = "mpi")]
        Workers::Ranks(cluster) => cluster.workers(),
        _ => options.limit,
    };
    let processes = match options.mode {
        Mode::Seq => "no child processes".to_owned(),
        _ => format!("number of processes: {limit}"),
    };
    let _ = writeln!(
        out,
        "Mode: {}, {processes}, {width}x{height} pixels",
        options.mode.name()
    );
    let _ = out.flush();
    drop(out);

    // Open the file first: a path that cannot be written fails at once,
    // not after the render.
    let path = &options.output;
    let fail = |e: io::Error| format!("cannot write {}: {e}", path.display());
    let file = File::create(path).map_err(fail)?;

    // pprocess's progress line ("%3d%% %3d": percent done, last row), on
    // stderr and only for a person watching.
    let show = io::stderr().is_terminal();
    let mut progress = |image: &super::Image, sy: usize| {
        if show {
            let percent = image.rows_set() * 100 / image.height();
            eprint!("\r{percent:3}% {sy:3}");
        }
    };

    let t = Instant::now();
    let image = match workers {
        #[cfg(feature = "mpi")]
        Workers::Ranks(cluster) => super::render_on(cluster, &world, options.mode, &mut progress),
        _ => render(&world, options.mode, limit, &mut progress),
    };
    let elapsed = t.elapsed();
    if show {
        eprintln!();
    }
    let image = match image {
        Ok(image) => image,
        Err(e) => {
            drop(file);
            let _ = fs::remove_file(path);
            return Err(e);
        }
    };

    let mut writer = BufWriter::new(file);
    image
        .write_png(&mut writer)
        .and_then(|()| writer.flush())
        .map_err(fail)?;

    let mut out = io::stdout().lock();
    let _ = writeln!(out, "Time taken: {}", elapsed.as_secs_f64());
    let _ = writeln!(out, "Written: {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("300x200"), Ok((300, 200)));
        assert_eq!(parse_size("1x1"), Ok((1, 1)));
        for bad in [
            "300", "0x200", "300x0", "x", "300x", "ax2", "10001x1", "3x2x1",
        ] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains("is not a size such as 300x200"), "{bad}: {e}");
        }
    }

    #[test]
    fn options_parse() {
        let o = Options::try_parse_from(["pygmy"]).unwrap();
        assert_eq!(
            (o.mode, o.limit, o.size),
            (Mode::Pmap, num_cores(), (300, 200))
        );
        assert_eq!(o.output, PathBuf::from("pygmy.png"));
        let o = Options::try_parse_from([
            "pygmy", "--mode", "reuse", "--limit", "3", "--output", "x.png", "--size", "30x20",
        ])
        .unwrap();
        assert_eq!((o.mode, o.limit, o.size), (Mode::Reuse, 3, (30, 20)));
        assert!(Options::try_parse_from(["pygmy", "--mode", "threads"]).is_err());
        assert!(Options::try_parse_from(["pygmy", "--limit", "0"]).is_err());
    }
}
