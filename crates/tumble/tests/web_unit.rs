//! The page's own logic (timeline layout, telemetry to state, time formats), tested by Node's
//! built-in runner: `node --test crates/tumble/web/test/`.

use std::process::Command;

#[test]
fn the_pages_javascript_unit_tests_pass() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/web/test/");
    let out = Command::new("node")
        .args(["--test", dir])
        .output()
        .expect("Node.js is needed for the page's tests (Debian: apt-get install nodejs)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("# fail 0"), "{stdout}");
}
