//! The page's own logic (timeline layout, telemetry to state, time formats), tested by Node's
//! built-in runner: `node --test crates/tumble/web/test/`.

mod common;

use std::process::Command;

use common::{needs, runs};

#[test]
fn the_pages_javascript_unit_tests_pass() {
    if needs("Node.js (Debian: apt-get install nodejs)", runs("node")).is_none() {
        return;
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/web/test/");
    let out = Command::new("node")
        .args(["--test", dir])
        .output()
        .expect("node ran a moment ago");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("# fail 0"), "{stdout}");
}
