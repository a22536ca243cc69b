//! Runs `start_indexer` as a real process on corpora made here, and checks
//! every answer against the sequential index; and checks the parallel
//! indexer's library entry point when children fail.

use std::borrow::Cow;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use pprocess_examples::indexer::parallel::{
    Document, Event, Options, Progress, index_parallel, index_parallel_with,
};
use pprocess_examples::indexer::{Index, Match, index_sequential, list_files};
use serde_json::Value;

const EXE: &str = env!("CARGO_BIN_EXE_start_indexer");

/// Patterns asked in every run: the empty pattern (every word), prefixes,
/// whole words, Unicode, the replacement character and misses.
const PATTERNS: &[&str] = &[
    "",
    "a",
    "al",
    "alpha",
    "Alpha",
    "be",
    "caf",
    "café",
    "Straße",
    "日本",
    "٣",
    "deep",
    "x2y",
    "\u{fffd}",
    "don",
    "nothing-here",
    "zzz",
];

/// A small corpus: several files, Unicode, punctuation, a file that is not
/// UTF-8, an empty file and a subdirectory.
fn make_corpus(root: &Path) {
    let files: &[(&str, &[u8])] = &[
        ("one.txt", b"Alpha beta, (gamma)\nalpha -- alphabet!"),
        (
            "two.txt",
            "beta caf\u{e9} café's «Straße» naïve 日本語テキスト 日本".as_bytes(),
        ),
        ("three.md", b"(don't) e-mail, --x2y! !!! don ... ___ x2y"),
        ("digits.txt", "٣٤ x٣٤y 42% 7 alpha".as_bytes()),
        ("latin1.txt", b"caf\xe9 cr\xe8me beta \xff\xfe alpha"),
        ("empty.txt", b""),
        ("spaces.txt", b"  \t\n\r\n  "),
        ("sub/deep.txt", b"deep deeper alpha\tbeta"),
        ("sub/more/deepest.txt", "deepest café".as_bytes()),
    ];
    for (name, bytes) in files {
        let path = root.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
    fs::create_dir(root.join("empty-dir")).unwrap();
}

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

/// Runs `start_indexer` and panics unless it exits 0; returns stdout and
/// stderr.
fn run_ok(args: &[&str], input: &str) -> (String, String) {
    let output = run(args, input);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        output.status.success(),
        "start_indexer {args:?} failed with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    (stdout, stderr)
}

/// The expected JSON answer to `pattern`.
fn expected(index: &Index, pattern: &str) -> Value {
    let matches: serde_json::Map<String, Value> = index
        .search(pattern)
        .into_iter()
        .map(|Match { word, files }| (word, files.into()))
        .collect();
    serde_json::json!({ "pattern": pattern, "matches": matches })
}

/// Checks that `stdout` holds exactly one JSON answer per pattern, equal to
/// the sequential index's, with words in sorted order.
fn check_answers(stdout: &str, index: &Index, patterns: &[&str]) {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), patterns.len(), "stdout:\n{stdout}");
    for (line, pattern) in lines.iter().zip(patterns) {
        let got: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("answer to {pattern:?} is not JSON ({e}): {line}"));
        assert_eq!(got, expected(index, pattern), "answer to {pattern:?}");
        // serde_json's Map sorts keys: check the order on the line itself.
        let words: Vec<String> = index.search(pattern).into_iter().map(|m| m.word).collect();
        let mut at = 0;
        for word in &words {
            let key = serde_json::to_string(word).unwrap() + ":";
            let found = line[at..]
                .find(&key)
                .unwrap_or_else(|| panic!("{key} missing or out of order in {line}"));
            at += found + key.len();
        }
    }
}

/// The corpus's files as `start_indexer` lists them, and the sequential
/// index of them.
fn reference(root: &Path, recursive: bool) -> (Vec<PathBuf>, Index) {
    let paths = list_files(root, recursive).unwrap();
    let index = index_sequential(&paths);
    (paths, index)
}

fn input(patterns: &[&str]) -> String {
    patterns.iter().map(|p| format!("{p}\n")).collect()
}

#[test]
fn json_answers_match_the_sequential_index() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_corpus(root);
    let root_arg = root.to_str().unwrap();
    for recursive in [false, true] {
        let (paths, index) = reference(root, recursive);
        assert_eq!(paths.len(), if recursive { 9 } else { 7 });
        let mut args = vec![root_arg, "--json"];
        if recursive {
            args.push("--recursive");
        }
        let (stdout, stderr) = run_ok(&args, &input(PATTERNS));
        check_answers(&stdout, &index, PATTERNS);
        assert!(!stdout.contains("Pattern:"), "prompt on stdout: {stdout}");

        // One warning for the file that is not UTF-8, and a summary.
        let latin1 = root.join("latin1.txt");
        let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
        assert_eq!(
            warnings,
            [format!(
                "start_indexer: warning: {}: invalid UTF-8 replaced",
                latin1.display()
            )],
            "stderr:\n{stderr}"
        );
        let summary = stderr.lines().last().unwrap();
        assert!(
            summary.contains(&format!("indexed {} files", paths.len()))
                && summary.contains(&format!("{} distinct words", index.words()))
                && summary.contains(&format!("{} entries", index.entries()))
                && summary.contains("1 with invalid UTF-8"),
            "{summary}"
        );
        // The paths are the directory joined with the file names.
        assert!(
            stdout.contains(&*serde_json::to_string(&root.join("sub/deep.txt")).unwrap())
                == recursive
        );
    }
}

#[test]
fn window_and_slice_do_not_change_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_corpus(root);
    // More files than slices and windows, so children are refilled.
    for i in 0..25 {
        fs::write(
            root.join(format!("extra-{i:02}.txt")),
            format!("extra{i} alpha shared{}", i % 4),
        )
        .unwrap();
    }
    let (paths, index) = reference(root, true);
    let patterns = [PATTERNS, &["extra", "extra1", "shared", "shared3"]].concat();
    let root_arg = root.to_str().unwrap();
    for (window, slice, reuse, children) in [
        ("1", "1", false, 34),
        ("8", "3", false, 12),
        ("4", "5", false, 7),
        ("1", "1", true, 1),
        ("8", "3", true, 8),
        ("2", "5", true, 2),
    ] {
        let mut args = vec![
            root_arg,
            "--json",
            "--recursive",
            "--window",
            window,
            "--slice",
            slice,
        ];
        if reuse {
            args.push("--reuse");
        }
        let (stdout, stderr) = run_ok(&args, &input(&patterns));
        check_answers(&stdout, &index, &patterns);
        assert_eq!(paths.len(), 34);
        let reused = if reuse { ", reused" } else { "" };
        let plural = if children == 1 { "child" } else { "children" };
        assert!(
            stderr.contains(&format!(
                "{children} {plural} (window {window}, slice {slice}{reused})"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn positional_form_works() {
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path());
    let (_, index) = reference(dir.path(), false);
    let root = dir.path().to_str().unwrap();
    let (stdout, stderr) = run_ok(&[root, "2", "1", "0.01", "--json"], &input(PATTERNS));
    check_answers(&stdout, &index, PATTERNS);
    assert!(
        stderr.contains("7 children (window 2, slice 1)"),
        "{stderr}"
    );
    // A pprocess user's command line, --noprompt at the end.
    let (stdout, _) = run_ok(&[root, "3", "2", "0", "--noprompt"], "");
    assert_eq!(stdout, "");
}

#[test]
fn prompt_and_answers_for_people() {
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path());
    let root = dir.path();
    let (stdout, _) = run_ok(&[root.to_str().unwrap()], "alph\nnothing-here\n");
    let path = |name: &str| root.join(name).display().to_string();
    let expected = format!(
        "Pattern: 2 words begin with \"alph\":\n  alpha     {}, {}, {}\n  alphabet  {}\n\
         Pattern: no word begins with \"nothing-here\"\nPattern: ",
        path("digits.txt"),
        path("latin1.txt"),
        path("one.txt"),
        path("one.txt"),
    );
    assert_eq!(stdout, expected);
}

#[test]
fn noprompt_indexes_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path());
    let (stdout, stderr) = run_ok(&[dir.path().to_str().unwrap(), "--noprompt"], "alpha\n");
    assert_eq!(stdout, "");
    assert!(
        stderr.lines().last().unwrap().contains("indexed 7 files"),
        "{stderr}"
    );
}

#[test]
fn empty_directory_works() {
    let dir = tempfile::tempdir().unwrap();
    let (stdout, stderr) = run_ok(&[dir.path().to_str().unwrap(), "--json"], "a\n\n");
    assert_eq!(
        stdout,
        "{\"pattern\":\"a\",\"matches\":{}}\n{\"pattern\":\"\",\"matches\":{}}\n"
    );
    assert!(stderr.contains("indexed 0 files"), "{stderr}");
    assert!(stderr.contains("0 children"), "{stderr}");
}

#[test]
fn missing_directory_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-dir");
    let output = run(&[missing.to_str().unwrap()], "alpha\n");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("no such directory"), "{stderr}");
    assert!(stderr.contains(&*missing.to_string_lossy()), "{stderr}");
    assert_eq!(text(&output.stdout), "");
}

#[test]
fn a_file_is_not_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.txt");
    fs::write(&file, "alpha").unwrap();
    let output = run(&[file.to_str().unwrap(), "--noprompt"], "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("not a directory"), "{stderr}");
}

#[test]
fn bad_arguments_are_usage_errors() {
    for args in [&["--window", "0"][..], &[".", "x"], &["--nope"]] {
        let output = run(args, "");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
    let output = run(&["--help"], "");
    assert!(output.status.success());
    assert!(text(&output.stdout).contains("--recursive"));
}

#[test]
fn default_corpus_is_the_embedded_documentation() {
    let (stdout, stderr) = run_ok(&["--json"], "pprocess\npmap\n");
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

#[test]
fn unreadable_files_are_reported_and_skipped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make_corpus(root);
    let locked = root.join("locked.txt");
    fs::write(&locked, "secret alpha").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read(&locked).is_ok() {
        // Running as root: permissions do not stop reads. The library test
        // below covers read failures.
        return;
    }
    let (_, index) = reference(root, false);
    let (stdout, stderr) = run_ok(&[root.to_str().unwrap(), "--json"], &input(PATTERNS));
    check_answers(&stdout, &index, PATTERNS);
    assert!(
        stderr.contains(&format!("skipped {}", locked.display())),
        "{stderr}"
    );
    assert!(stderr.contains("1 skipped"), "{stderr}");
}

/// Reads documents, but panics on one named `panic` and kills the process
/// on one named `abort`, and fails to read one named `unreadable`.
fn failing_reader(doc: &Document) -> io::Result<(Cow<'_, str>, bool)> {
    match doc.name.as_str() {
        "panic" => panic!("the parser choked"),
        "abort" => std::process::abort(),
        "unreadable" => Err(io::Error::new(io::ErrorKind::PermissionDenied, "no access")),
        _ => doc.read(),
    }
}

#[test]
fn a_dying_child_loses_only_its_unreported_files() {
    for reuse in [false, true] {
        dying_children(reuse);
    }
}

fn dying_children(reuse: bool) {
    #[rustfmt::skip]
    let names = [
        "a", "b", "panic", "c",      // slice 0: a, b reported before the panic
        "d", "unreadable", "e", "f", // slice 1: all reported
        "g", "abort", "h", "i",      // slice 2: g reported, then killed
        "j", "k",                    // slice 3
    ];
    let docs: Vec<Document> = names
        .iter()
        .map(|name| Document::text(*name, format!("word{name} common")))
        .collect();
    let mut events = Vec::new();
    let options = Options {
        window: 2,
        slice: 4,
        delay: None,
        reuse,
    };
    let indexed = index_parallel_with(docs, &options, failing_reader, |event, progress| {
        let name = match event {
            Event::Indexed { name, .. } | Event::Failed { name, .. } => name.to_string(),
        };
        events.push((name, *progress));
    })
    .unwrap();

    let failed: Vec<(&str, &str)> = indexed
        .failed
        .iter()
        .map(|f| (f.name.as_str(), f.error.as_str()))
        .collect();
    let mut failed_names: Vec<&str> = failed.iter().map(|f| f.0).collect();
    failed_names.sort_unstable();
    assert_eq!(
        failed_names,
        ["abort", "c", "h", "i", "panic", "unreadable"],
        "reuse: {reuse}"
    );
    for (name, error) in &failed {
        match *name {
            "panic" | "c" => assert!(error.contains("the parser choked"), "{name}: {error}"),
            "unreadable" => assert_eq!(*error, "no access"),
            _ => assert!(error.contains("signal"), "{name}: {error}"),
        }
    }
    let common = indexed.index.search("common");
    assert_eq!(common[0].files, ["a", "b", "d", "e", "f", "g", "j", "k"]);
    assert_eq!(indexed.index.files().len(), names.len());
    if reuse {
        // Two workers, and a replacement for each death while slices
        // remained.
        assert!((2..=4).contains(&indexed.children), "{}", indexed.children);
    } else {
        assert_eq!(indexed.children, 4);
    }

    // Every document was settled once, and progress counted up to all.
    assert_eq!(events.len(), names.len());
    let mut seen: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    seen.sort_unstable();
    let mut all = names.to_vec();
    all.sort_unstable();
    assert_eq!(seen, all);
    for (i, (_, progress)) in events.iter().enumerate() {
        assert_eq!(progress.done, i + 1);
        assert_eq!(progress.total, names.len());
    }
    let last: &Progress = &events.last().unwrap().1;
    assert_eq!(last.entries, indexed.index.entries());
}

#[test]
fn parallel_index_equals_sequential_index() {
    let dir = tempfile::tempdir().unwrap();
    make_corpus(dir.path());
    let paths = list_files(dir.path(), true).unwrap();
    let sequential = index_sequential(&paths);
    for (window, slice, reuse) in [
        (1, 1, false),
        (3, 2, false),
        (16, 100, false),
        (1, 1, true),
        (2, 3, true),
        (16, 1, true),
    ] {
        let options = Options {
            window,
            slice,
            delay: Some(Duration::from_millis(1)),
            reuse,
        };
        let docs = pprocess_examples::indexer::parallel::documents(paths.clone());
        let indexed = index_parallel(docs, &options, |_, _| {}).unwrap();
        assert_eq!(indexed.index.files(), sequential.files());
        assert_eq!(indexed.index.search(""), sequential.search(""));
        assert_eq!(indexed.index.entries(), sequential.entries());
        assert!(indexed.failed.is_empty());
        assert_eq!(
            indexed.lossy,
            [dir.path().join("latin1.txt").display().to_string()]
        );
    }
}

#[test]
fn files_are_merged_as_they_arrive() {
    // One child parses four files, sleeping after each: if the parent
    // merged at the end, every event would come at once.
    let docs: Vec<Document> = (0..4)
        .map(|i| Document::text(format!("f{i}"), format!("w{i}")))
        .collect();
    let options = Options {
        window: 1,
        slice: 4,
        delay: Some(Duration::from_millis(150)),
        reuse: false,
    };
    let mut times = Vec::new();
    let indexed = index_parallel(docs, &options, |_, progress| {
        times.push((std::time::Instant::now(), progress.words));
    })
    .unwrap();
    assert_eq!(indexed.index.words(), 4);
    let words: Vec<usize> = times.iter().map(|t| t.1).collect();
    assert_eq!(words, [1, 2, 3, 4]);
    let spread = times[3].0 - times[0].0;
    assert!(spread >= Duration::from_millis(400), "{spread:?}");
}
