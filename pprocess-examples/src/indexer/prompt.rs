//! Reading patterns and writing their answers.
//!
//! When standard input is a terminal, each pattern is read after the prompt
//! `Pattern: `, with line editing and history (`rustyline`, on the
//! terminal itself, so standard output still holds only answers). When it
//! is not, patterns are read one per line with no prompt. Either way each
//! answer is written to standard output as it streams in, and flushed when
//! it is complete.

use std::io::{self, BufRead, BufWriter, IsTerminal, Write};

use rustyline::config::{Behavior, Config};
use rustyline::error::ReadlineError;

use super::answer::{Matches, write_answer, write_json};

/// The prompt.
pub const PROMPT: &str = "Pattern: ";

/// Answers every pattern of standard input, to its end.
///
/// # Errors
///
/// A read or write error (`BrokenPipe` when standard output's reader has
/// gone), or a search's.
pub fn answer_all(matches: &mut dyn Matches, json: bool) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    if io::stdin().is_terminal() {
        interactive(matches, json, &mut out)
    } else {
        answer_lines(io::stdin().lock(), matches, json, &mut out)
    }
}

/// Answers each line of `input` (its end of line and surrounding white
/// space removed) on `out`, flushing after each answer.
///
/// # Errors
///
/// As for [`answer_all`].
pub fn answer_lines(
    mut input: impl BufRead,
    matches: &mut dyn Matches,
    json: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return out.flush();
        }
        let text = String::from_utf8_lossy(&line);
        answer(matches, text.trim(), json, out)?;
    }
}

/// One answer, flushed.
fn answer(
    matches: &mut dyn Matches,
    pattern: &str,
    json: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    if json {
        write_json(out, pattern, matches)?;
    } else {
        write_answer(out, pattern, matches)?;
    }
    out.flush()
}

/// The prompt on the terminal, with line editing and history.
fn interactive(matches: &mut dyn Matches, json: bool, out: &mut impl Write) -> io::Result<()> {
    let config = Config::builder()
        .behavior(Behavior::PreferTerm)
        .auto_add_history(true)
        .build();
    let mut editor = rustyline::DefaultEditor::with_config(config)
        .map_err(|e| io::Error::other(format!("cannot set up line editing: {e}")))?;
    loop {
        match editor.readline(PROMPT) {
            Ok(line) => answer(matches, line.trim(), json, out)?,
            Err(ReadlineError::Eof | ReadlineError::Interrupted) => return out.flush(),
            Err(ReadlineError::Io(e)) => return Err(e),
            Err(e) => return Err(io::Error::other(format!("cannot read a pattern: {e}"))),
        }
    }
}
