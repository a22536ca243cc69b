//! Runs `pygmy` (the port of pprocess's `examples/PyGmy`) as a real
//! process in every mode and with several limits: each run must write the
//! same PNG, byte for byte, equal to the picture in `docs/pygmy.png`, and
//! leave no process behind. Bad options and unwritable outputs must fail
//! with a clear message.

mod proc_util;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use proc_util::processes_naming;
use tempfile::TempDir;

const PYGMY: &str = env!("CARGO_BIN_EXE_pygmy");

/// Runs `pygmy` with `args`; returns its output whatever its status.
fn run(args: &[&str]) -> Output {
    Command::new(PYGMY)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("pygmy does not run: {e}"))
}

/// Renders into `dir` with `mode` and `limit` (and `extra` arguments);
/// checks what is printed and returns the PNG's bytes.
fn render(dir: &Path, mode: &str, limit: usize, extra: &[&str]) -> Vec<u8> {
    let out: PathBuf = dir.join(format!("{mode}-{limit}.png"));
    let out_str = out.to_str().unwrap();
    let limit_str = limit.to_string();
    let mut args = vec!["--mode", mode, "--limit", &limit_str, "--output", out_str];
    args.extend_from_slice(extra);
    let output = run(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{args:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stderr.is_empty(), "{args:?} wrote to stderr:\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{args:?}:\n{stdout}");
    assert!(lines[0].starts_with(&format!("Mode: {mode}, ")), "{stdout}");
    let seconds: f64 = lines[1]
        .strip_prefix("Time taken: ")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no time in {:?}", lines[1]));
    assert!(seconds.is_finite() && seconds > 0.0, "{seconds}");
    assert_eq!(lines[2], format!("Written: {out_str}"));
    // Children are forks of pygmy: their command line names the output.
    assert_eq!(processes_naming(out_str), Vec::<String>::new(), "{args:?}");
    fs::read(&out).unwrap()
}

/// Decodes a PNG: (width, height, RGB bytes).
fn decode(png_bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().expect("a png");
    let mut buf = vec![0; reader.output_buffer_size().expect("fits in memory")];
    let info = reader.next_frame(&mut buf).expect("one frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

#[test]
fn every_mode_and_limit_writes_the_same_png_as_docs() {
    let dir = TempDir::new().unwrap();
    let seq = render(dir.path(), "seq", 1, &[]);
    for (mode, limit) in [
        ("pmap", 1),
        ("pmap", 3),
        ("queue", 2),
        ("reuse", 1),
        ("reuse", 3),
    ] {
        let png = render(dir.path(), mode, limit, &[]);
        assert!(
            png == seq,
            "--mode {mode} --limit {limit} gives another image"
        );
    }

    // A real picture of pprocess's scene, not a blank one: black sky at
    // the top, a lit floor at the bottom, many colours.
    let (w, h, rgb) = decode(&seq);
    assert_eq!((w, h), (300, 200));
    let row = |y: usize| &rgb[y * 300 * 3..(y + 1) * 300 * 3];
    assert!(row(0).iter().all(|&b| b == 0), "the sky is not black");
    assert!(row(199).iter().any(|&b| b > 0), "the floor is not lit");
    let mut colours: Vec<&[u8]> = rgb.chunks(3).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 1000, "only {} colours", colours.len());

    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/pygmy.png");
    let committed = fs::read(&docs).unwrap_or_else(|e| panic!("{}: {e}", docs.display()));
    assert!(committed == seq, "docs/pygmy.png is not what pygmy renders");
}

#[test]
fn other_sizes_are_the_same_in_every_mode_too() {
    let dir = TempDir::new().unwrap();
    let seq = render(dir.path(), "seq", 1, &["--size", "31x7"]);
    let (w, h, _) = decode(&seq);
    assert_eq!((w, h), (31, 7));
    for mode in ["pmap", "queue", "reuse"] {
        let png = render(dir.path(), mode, 4, &["--size", "31x7"]);
        assert!(png == seq, "--mode {mode} gives another image");
    }
}

#[test]
fn an_unwritable_output_fails_before_rendering_with_its_name() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("no/such/dir/x.png");
    let output = run(&["--mode", "seq", "--output", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr,
        format!(
            "pygmy: cannot write {}: No such file or directory (os error 2)\n",
            out.display()
        )
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("Time taken"),
        "it rendered first:\n{stdout}"
    );
    assert!(!out.exists());
}

#[test]
fn bad_options_are_rejected() {
    for bad in [
        &["--mode", "threads"][..],
        &["--limit", "0"],
        &["--size", "0x200"],
        &["--size", "300"],
    ] {
        let output = run(bad);
        assert_eq!(output.status.code(), Some(2), "{bad:?}");
        assert!(output.stdout.is_empty(), "{bad:?}");
        assert!(!output.stderr.is_empty(), "{bad:?}");
    }
}
