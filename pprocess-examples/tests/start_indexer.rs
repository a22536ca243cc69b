//! Runs `start_indexer` as a real process on corpora made here and checks
//! every answer against the sequential index, for every engine and walk
//! option; and checks its exit statuses, messages and pipes.

mod start_indexer_util;

use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};

use pprocess_examples::indexer::WalkOptions;
use serde_json::Value;
use start_indexer_util::{PATTERNS, UNREADABLE, check_answers, input, make_corpus, reference};

const EXE: &str = env!("CARGO_BIN_EXE_start_indexer");

/// Runs `start_indexer` with `args`, `input` on standard input.
fn run(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(EXE)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start_indexer starts");
    let mut stdin = child.stdin.take().unwrap();
    // A run that ends early (bad arguments, --noprompt) may not read it all.
    match stdin.write_all(input.as_bytes()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => panic!("cannot write stdin: {e}"),
        _ => drop(stdin),
    }
    child.wait_with_output().expect("start_indexer runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("output is UTF-8")
}

/// Runs `start_indexer`, checks its exit status; returns stdout and stderr.
fn run_status(args: &[&str], input: &str, status: i32) -> (String, String) {
    let output = run(args, input);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(status),
        "start_indexer {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
    );
    (stdout, stderr)
}

/// The walk options `args` ask for.
fn walk_options(args: &[&str]) -> WalkOptions {
    WalkOptions {
        hidden: args.contains(&"--hidden"),
        no_ignore: args.contains(&"--no-ignore"),
        max_depth: args
            .iter()
            .position(|a| *a == "--max-depth")
            .map(|i| args[i + 1].parse().unwrap()),
    }
}

#[test]
fn every_option_combination_gives_the_sequential_answers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_corpus(root, true);
    // More files than slices and windows, so children are refilled.
    for i in 0..25 {
        fs::write(
            root.join(format!("extra-{i:02}.txt")),
            format!("extra{i} alpha shared{}", i % 4),
        )
        .unwrap();
    }
    let patterns = [
        PATTERNS,
        &["extra", "extra1", "shared", "shared3", "ign", "log"],
    ]
    .concat();
    let root_arg = root.to_str().unwrap();
    let engines: &[&[&str]] = &[
        &[],
        &["-j", "1"],
        &["-j", "3"],
        &["--window", "1", "--slice", "1"],
        &["--window", "8", "--slice", "3"],
        &["--reuse"],
        &["--reuse", "--window", "2", "--slice", "3"],
        &["2", "1", "0.001"],
    ];
    let walks: &[&[&str]] = &[
        &[],
        &["--hidden"],
        &["--no-ignore"],
        &["--hidden", "--no-ignore"],
        &["--max-depth", "1"],
        &["--max-depth", "2", "--hidden"],
    ];
    let mut runs = 0;
    for (e, engine) in engines.iter().enumerate() {
        for (w, walk) in walks.iter().enumerate() {
            // Every engine with the default walk, every walk with two
            // engines (the pool and pprocess's shape).
            if e > 0 && w > 0 && e != 2 && e != 4 {
                continue;
            }
            let mut args = vec![root_arg];
            args.extend_from_slice(engine);
            args.extend_from_slice(walk);
            args.push("--json");
            let (paths, index) = reference(root, &walk_options(&args));
            let (stdout, stderr) = run_status(&args, &input(&patterns), 1);
            check_answers(&stdout, &index, &patterns);
            // Each unreadable file reported once; binary and invalid UTF-8
            // counted, not reported one by one.
            let reported: Vec<&str> = stderr
                .lines()
                .filter(|l| !l.contains("indexed ") && !l.contains("warning"))
                .collect();
            let depth_one = walk.contains(&"1");
            let unreadable = UNREADABLE;
            assert_eq!(reported.len(), unreadable, "{args:?}: {stderr}");
            for name in ["fifo", "dangling", "eio.txt"] {
                let line = reported
                    .iter()
                    .find(|l| l.contains(&*root.join(name).to_string_lossy()))
                    .unwrap_or_else(|| panic!("{name} not reported: {stderr}"));
                assert!(line.starts_with("start_indexer: "), "{line}");
            }
            assert!(
                reported.iter().any(|l| l.contains("Input/output error")),
                "{stderr}"
            );
            let summary = stderr.lines().find(|l| l.contains("indexed ")).unwrap();
            // Text files: all listed but the binary one and the EIO link.
            let text_files = paths.len() - 2;
            assert!(
                summary.contains(&format!("indexed {text_files} files"))
                    && summary.contains("1 binary skipped")
                    && summary.contains(&format!("{unreadable} unreadable"))
                    && summary.contains("1 with invalid UTF-8")
                    && summary.contains(&format!("{} entries", index.entries())),
                "{args:?}: {summary} ({} paths, depth one: {depth_one})",
                paths.len()
            );
            assert!(!stdout.contains("Pattern:"), "prompt on stdout: {stdout}");
            runs += 1;
        }
    }
    assert_eq!(runs, 3 * walks.len() + engines.len() - 3);
}

#[test]
fn pprocess_shape_reports_its_children() {
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path(), false);
    let (paths, index) = reference(dir.path(), &WalkOptions::default());
    let root = dir.path().to_str().unwrap();
    let (stdout, stderr) = run_status(&[root, "2", "1", "0.001", "--json"], &input(PATTERNS), 0);
    check_answers(&stdout, &index, PATTERNS);
    assert!(
        stderr.contains(&format!("{} children (window 2, slice 1)", paths.len())),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{} distinct words", index.words())),
        "{stderr}"
    );
    // A pprocess user's command line, --noprompt at the end.
    let (stdout, _) = run_status(&[root, "3", "2", "0", "--noprompt"], "", 0);
    assert_eq!(stdout, "");
    let (_, stderr) = run_status(&[root, "--reuse", "--noprompt"], "", 0);
    // 12 files in slices of 5: 3 slices, so 3 of the window's 4 workers.
    assert!(
        stderr.contains("3 children (window 4, slice 5, reused)"),
        "{stderr}"
    );
}

#[test]
fn piped_input_gets_answers_without_prompts() {
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path(), false);
    let root = dir.path();
    let (stdout, stderr) = run_status(&[root.to_str().unwrap()], "alph\nnothing-here\n", 0);
    let path = |name: &str| root.join(name).display().to_string();
    let expected = format!(
        "2 words begin with \"alph\":\n  alpha     {}\n  alphabet  {}\n\
         no word begins with \"nothing-here\"\n",
        [
            "digits.txt",
            "huge.txt",
            "late-nul.txt",
            "latin1.txt",
            "one.txt",
            "only-dirs/a/b/nested.txt",
            "sub/deep.txt",
        ]
        .map(path)
        .join(", "),
        path("one.txt"),
    );
    assert_eq!(stdout, expected);
    // Standard error: the summary only (no progress off a terminal).
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("start_indexer: indexed 12 files"),
        "{stderr}"
    );
}

#[test]
fn quiet_prints_nothing_but_keeps_the_status() {
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path(), true);
    let (stdout, stderr) = run_status(&[dir.path().to_str().unwrap(), "-q"], "alpha\n", 1);
    assert_eq!(stderr, "");
    assert!(
        stdout.starts_with("2 words begin with \"alpha\""),
        "{stdout}"
    );
}

#[test]
fn noprompt_indexes_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path(), false);
    let (stdout, stderr) = run_status(&[dir.path().to_str().unwrap(), "--noprompt"], "alpha\n", 0);
    assert_eq!(stdout, "");
    assert!(stderr.contains("indexed 12 files"), "{stderr}");
}

#[test]
fn empty_directories_are_not_silent() {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, stderr) = run_status(&[dir.path().to_str().unwrap(), "--json"], "a\n\n", 0);
    assert_eq!(
        stdout,
        "{\"pattern\":\"a\",\"matches\":{}}\n{\"pattern\":\"\",\"matches\":{}}\n"
    );
    assert!(stderr.contains("indexed 0 files"), "{stderr}");
    assert!(
        stderr.contains("warning: no text file to index"),
        "{stderr}"
    );
    // A directory of only subdirectories is indexed through them.
    fs::create_dir_all(dir.path().join("a/b")).unwrap();
    fs::write(dir.path().join("a/b/deep.txt"), "found").unwrap();
    let (stdout, stderr) = run_status(&[dir.path().to_str().unwrap()], "found\n", 0);
    assert!(
        stdout.starts_with("1 word begins with \"found\""),
        "{stdout}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    let (_, stderr) = run_status(&[dir.path().to_str().unwrap(), "--max-depth", "1"], "", 0);
    assert!(
        stderr.contains("warning: no text file") && stderr.contains("--max-depth"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2_and_name_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let (stdout, stderr) = run_status(&[missing.to_str().unwrap()], "alpha\n", 2);
    assert_eq!(
        stderr,
        format!("start_indexer: {}: no such directory\n", missing.display())
    );
    assert_eq!(stdout, "");
    let file = dir.path().join("file.txt");
    fs::write(&file, "alpha").unwrap();
    let (_, stderr) = run_status(&[file.to_str().unwrap(), "--noprompt"], "", 2);
    assert!(stderr.contains("not a directory"), "{stderr}");
    for args in [
        &["--window", "0"][..],
        &[".", "x"],
        &["--nope"],
        &["-j", "0"],
    ] {
        let (_, stderr) = run_status(args, "", 2);
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    let (stdout, _) = run_status(&["--help"], "", 0);
    assert!(
        stdout.contains("--no-ignore") && stdout.contains("Exit status: 0"),
        "{stdout}"
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly() {
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path(), false);
    for args in [&[][..], &["--json"], &["--window", "2"]] {
        let mut child = Command::new(EXE)
            .arg(dir.path())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Every word, many times: far more than a pipe holds.
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            for _ in 0..50 {
                if stdin.write_all(b"\n").is_err() {
                    break;
                }
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        drop(stdout);
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        let stderr = text(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
}

#[test]
fn default_corpus_is_the_embedded_documentation() {
    for args in [&["--json"][..], &["--json", "--window", "2"]] {
        let (stdout, stderr) = run_status(args, "pprocess\npmap\n", 0);
        let lines: Vec<Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{stdout}");
        let files = lines[0]["matches"]["pprocess"]
            .as_array()
            .unwrap_or_else(|| panic!("no pprocess in {stdout}"));
        assert!(files.contains(&Value::from("docs/tutorial.md")), "{stdout}");
        assert!(
            lines[1]["matches"]
                .as_object()
                .unwrap()
                .contains_key("pmap")
        );
        assert!(stderr.contains("indexed "), "{stderr}");
    }
}
