//! The page, end to end, in a real browser (Debian's chromium driven by playwright-core) against
//! a real `tumble serve --speed 100`. Screenshots land in target/e2e/.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Server, chromium, needs, repo, runs, state_dir};

/// playwright-core in target/node (installed by .ci/run; installed here when missing).
fn playwright() -> Result<PathBuf, String> {
    runs("node")?;
    let dir = repo().join("target/node");
    let index = dir.join("node_modules/playwright-core/index.mjs");
    if !index.exists() {
        runs("npm")?;
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("npm")
            .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("playwright-core")
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err(format!(
                "`npm install playwright-core` into {} failed (it needs the npm registry)",
                dir.display()
            ));
        }
    }
    Ok(index)
}

#[test]
fn the_page_loads_runs_and_stops_a_cycle_in_chromium() {
    let Some(chromium) = needs("Debian's chromium", chromium()) else {
        return;
    };
    let Some(playwright) = needs("Node.js with playwright-core", playwright()) else {
        return;
    };
    let server = Server::start(&state_dir("browser"), &["--speed", "100"]);
    let page = server.page_url();
    let shots = repo().join("target/e2e");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/e2e.mjs"
        ))
        .arg(&page)
        .arg(&shots)
        .arg(repo().join("examples/cycles/wash-1600.json"))
        .arg(repo().join("examples/cycles/broken/negative-duration.json"))
        .env("PLAYWRIGHT_CORE", &playwright)
        .env("CHROMIUM", &chromium)
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
