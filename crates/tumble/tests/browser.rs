//! The page, end to end, in a real browser (Debian's chromium driven by playwright-core) against
//! a real `tumble serve --speed 100`. Screenshots land in target/e2e/.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, repo, state_dir};

/// playwright-core in target/node (installed by .ci/run; installed here when missing).
fn playwright() -> PathBuf {
    let dir = repo().join("target/node");
    let index = dir.join("node_modules/playwright-core/index.mjs");
    if !index.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("playwright-core")
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "cannot install playwright-core with npm into {}",
            dir.display()
        );
    }
    index
}

#[test]
fn the_page_loads_runs_and_stops_a_cycle_in_chromium() {
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "this test needs Debian's chromium: apt-get install chromium"
    );
    let playwright = playwright();
    let server = Server::start(&state_dir("browser"), &["--speed", "100"]);
    let addr = server.addr.clone();
    let shots = repo().join("target/e2e");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/e2e.mjs"
        ))
        .arg(format!("http://{addr}/"))
        .arg(&shots)
        .arg(repo().join("examples/cycles/wash-1600.json"))
        .arg(repo().join("examples/cycles/broken/negative-duration.json"))
        .env("PLAYWRIGHT_CORE", &playwright)
        .output()
        .unwrap();
    drop(server);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
}
