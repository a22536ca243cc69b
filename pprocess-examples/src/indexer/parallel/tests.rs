//! Unit tests of `parallel.rs`.

use std::path::PathBuf;

use super::*;

#[test]
fn joined_words_are_distinct_and_in_order() {
    assert_eq!(joined_distinct_words("b a, (b) A a!"), "b a A ");
    assert_eq!(joined_distinct_words(""), "");
    assert_eq!(joined_distinct_words("!!! ..."), "");
}

#[test]
fn report_of_a_text_and_of_a_missing_file() {
    let doc = Document::text("t", "x y x");
    assert_eq!(
        Report::parse(3, &doc, Document::open),
        Report::Parsed {
            file: 3,
            lossy: false,
            binary: false,
            words: "x y ".to_owned(),
        }
    );
    let missing = Document::file(PathBuf::from("/nonexistent/pprocess-indexer"));
    assert_eq!(missing.name, "/nonexistent/pprocess-indexer");
    match Report::parse(0, &missing, Document::open) {
        Report::Failed { file: 0, error } => {
            assert!(error.contains("No such file"), "{error}");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn default_options_are_pprocess_defaults() {
    let options = Options::default();
    assert_eq!(
        (options.window, options.slice, options.delay, options.reuse),
        (4, 5, None, false)
    );
}
