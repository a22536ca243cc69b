//! What the example tests read from `/proc`: which processes are still
//! alive, so a test can check that an example left none behind.

use std::fs;

/// The pids of the processes whose command line contains `needle`.
pub fn processes_naming(needle: &str) -> Vec<String> {
    let needle = needle.as_bytes();
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            if cmdline.windows(needle.len()).any(|w| w == needle) {
                found.push(pid.to_owned());
            }
        }
    }
    found
}
