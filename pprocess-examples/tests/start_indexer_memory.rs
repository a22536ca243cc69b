//! A file of 1 GiB is indexed in at most 256 MiB: `start_indexer` runs
//! with its address space limited to 256 MiB (`ulimit -v`, which is
//! `setrlimit(RLIMIT_AS)` in the shell that then runs it), on a generated
//! file of 1 GiB, and must answer as the file's content says.
//!
//! The file repeats a 1 MiB block of text (64 KiB of long words, then
//! white space, so that it is quick to tokenize) in which two words are
//! unique to the block's place; every such word must be found.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::{Command, Stdio};

const EXE: &str = env!("CARGO_BIN_EXE_start_indexer");

const BLOCK: usize = 1 << 20;
const BLOCKS: usize = 1024;
/// Address space of the indexer's processes, each.
const LIMIT_KIB: usize = 256 * 1024;

#[test]
fn a_1_gib_file_is_indexed_in_256_mib() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.txt");
    let mut out = BufWriter::with_capacity(BLOCK, File::create(&path).unwrap());
    let filler = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnop ";
    for i in 0..BLOCKS {
        let mut block = format!("first{i} ");
        // 64 KiB of words, then white space: every byte is read and
        // tokenized, quickly enough for a test.
        while block.len() + filler.len() < 64 * 1024 {
            block.push_str(filler);
        }
        block.push_str(&" ".repeat(BLOCK - 40 - block.len()));
        writeln!(block, "last{i}").unwrap();
        block.push_str(&" ".repeat(BLOCK - block.len()));
        out.write_all(block.as_bytes()).unwrap();
    }
    out.into_inner().unwrap().sync_all().ok();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        (BLOCK * BLOCKS) as u64
    );

    // The pool (pprocess's shape reads files with the same scanner).
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(EXE)
        .arg(dir.path())
        .arg("--json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"first1023\nlast0\nabcdef\nfirst\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{}\n{stderr}", output.status);
    let name = serde_json::to_string(&path.display().to_string()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert_eq!(
        lines[0],
        format!("{{\"pattern\":\"first1023\",\"matches\":{{\"first1023\":[{name}]}}}}")
    );
    assert_eq!(
        lines[1],
        format!("{{\"pattern\":\"last0\",\"matches\":{{\"last0\":[{name}]}}}}")
    );
    assert!(
        lines[2].contains("abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnop")
    );
    let first: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
    assert_eq!(first["matches"].as_object().unwrap().len(), BLOCKS);
    assert!(stderr.contains("indexed 1 file"), "{stderr}");
}
