//! `start_indexer` under a pseudo-terminal: the prompt, line editing with
//! history, and progress on standard error appear only there.

mod start_indexer_util;

use std::process::Command;
use std::time::Duration;

use expectrl::{ControlCode, Session};

const EXE: &str = env!("CARGO_BIN_EXE_start_indexer");

#[test]
fn prompt_history_and_progress_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    start_indexer_util::make_corpus(dir.path(), false);
    let mut command = Command::new(EXE);
    // A delay per file, so that indexing lasts long enough to show progress.
    command.arg(dir.path()).args(["--delay", "0.02", "-j", "2"]);
    let mut session = Session::spawn(command).expect("a pseudo-terminal");
    session.set_expect_timeout(Some(Duration::from_secs(30)));
    // Progress: files, bytes, words and rate, then the summary.
    session.expect("MB/s").expect("progress on the terminal");
    session.expect("indexed 12 files").expect("the summary");
    session.expect("Pattern: ").expect("the prompt");
    session.send_line("alphab").unwrap();
    session
        .expect("1 word begins with \"alphab\"")
        .expect("an answer");
    session.expect("Pattern: ").unwrap();
    // Up arrow: the last pattern again, edited (one character removed).
    session.send("\x1b[A").unwrap();
    session.send("\x7f\r").unwrap();
    session
        .expect("2 words begin with \"alpha\"")
        .expect("the pattern from history, edited");
    session.expect("Pattern: ").unwrap();
    session.send(ControlCode::EndOfTransmission).unwrap();
    let status = session.get_process().wait().unwrap();
    assert_eq!(
        status,
        expectrl::WaitStatus::Exited(session.get_process().pid(), 0)
    );
}
