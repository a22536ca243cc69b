//! Unit tests of `cli.rs`.

use super::*;
use std::path::PathBuf;

fn parse(args: &[&str]) -> Result<Args, clap::Error> {
    Args::try_parse_from(std::iter::once("start_indexer").chain(args.iter().copied()))
}

#[test]
fn default_is_the_pool() {
    let args = parse(&[]).unwrap();
    assert_eq!(args.dir, None);
    assert_eq!(args.engine(), Engine::Pool(PoolOptions::default()));
    assert!(!args.noprompt && !args.json && !args.quiet);
    let four = parse(&["d", "-j", "4", "--delay", "0.5"]).unwrap();
    match four.engine() {
        Engine::Pool(options) => {
            assert_eq!(options.workers, 4);
            assert_eq!(options.delay, Some(Duration::from_millis(500)));
        }
        other @ Engine::Slices(_) => panic!("{other:?}"),
    }
}

#[test]
fn options_and_positional_form_agree() {
    let named = parse(&["d", "--window", "2", "--slice", "3", "--delay", "0.5"]).unwrap();
    let positional = parse(&["d", "2", "3", "0.5"]).unwrap();
    let expected = Engine::Slices(Options {
        window: 2,
        slice: 3,
        delay: Some(Duration::from_millis(500)),
        reuse: false,
    });
    assert_eq!(named.engine(), expected);
    assert_eq!(positional.engine(), expected);
    assert_eq!(positional.dir, Some(PathBuf::from("d")));
    // pprocess's --noprompt may come anywhere.
    let mixed = parse(&["d", "--noprompt", "7"]).unwrap();
    assert!(mixed.noprompt);
    assert_eq!(
        mixed.engine(),
        Engine::Slices(Options {
            window: 7,
            ..Options::default()
        })
    );
    assert_eq!(
        parse(&["d", "--reuse"]).unwrap().engine(),
        Engine::Slices(Options {
            reuse: true,
            ..Options::default()
        })
    );
}

#[test]
fn zero_delay_is_no_delay() {
    assert_eq!(
        parse(&["d", "1", "1", "0"]).unwrap().engine(),
        Engine::Slices(Options {
            window: 1,
            slice: 1,
            delay: None,
            reuse: false
        })
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [
        &["d", "0"][..],
        &["d", "--slice", "0"],
        &["d", "-j", "0"],
        &["d", "--delay", "-1"],
        &["d", "--delay", "nan"],
        &["d", "--window", "x"],
        &["d", "2", "--window", "3"],
        &["d", "1", "2", "3", "4"],
        &["--bogus"],
    ] {
        let err = parse(args).unwrap_err();
        assert_eq!(err.exit_code(), i32::from(EXIT_USAGE), "{args:?}: {err}");
    }
}

#[test]
fn help_lists_the_options_and_exit_statuses() {
    let err = parse(&["--help"]).unwrap_err();
    assert_eq!(err.exit_code(), 0);
    let help = err.to_string();
    for word in [
        "--workers",
        "--window",
        "--slice",
        "--delay",
        "--reuse",
        "--hidden",
        "--no-ignore",
        "--max-depth",
        "--noprompt",
        "--json",
        "--quiet",
        "Exit status: 0",
        "1 if some files could not be read",
        "2 for a\nusage error",
    ] {
        assert!(help.contains(word), "{word} missing from help:\n{help}");
    }
}

#[test]
fn missing_and_non_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let BadDir(message) = check_dir(&missing).unwrap_err();
    assert!(message.ends_with("no such directory"), "{message}");
    let file = dir.path().join("file.txt");
    fs::write(&file, "x").unwrap();
    let BadDir(message) = check_dir(&file).unwrap_err();
    assert!(message.ends_with("not a directory"), "{message}");
    assert!(check_dir(dir.path()).is_ok());
}

#[test]
fn summary_of_pprocess_shape() {
    let report = Report {
        files: 1,
        binary: 0,
        lossy: 1,
        unreadable: 0,
        bytes: None,
        words: Some(7),
        entries: 7,
        processes: 1,
        elapsed: Duration::from_millis(10),
    };
    assert_eq!(
        summary(&report, &Engine::Slices(Options::default())),
        "indexed 1 file (1 with invalid UTF-8) in 0.01 s: 7 distinct words, 7 entries; \
         1 child (window 4, slice 5)"
    );
}

#[test]
fn over_a_builder_more_workers_than_ranks_and_pprocess_engine_are_refused() {
    // Refused before any worker starts (a rank serves one worker at a
    // time: more would wait for ever; pprocess's engine forks).
    // A directory that exists, or the refusal would be the missing
    // directory's (the same status).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "words").unwrap();
    let d = dir.path().to_str().unwrap();
    let builder = Builder::new();
    for args in [
        &[d, "--workers", "4", "--noprompt", "--quiet"][..],
        &[d, "--window", "2", "--noprompt", "--quiet"],
    ] {
        let args = parse(args).unwrap();
        assert_eq!(
            run_on(&args, &builder, 3),
            ExitCode::from(EXIT_USAGE),
            "{args:?}"
        );
    }
}
