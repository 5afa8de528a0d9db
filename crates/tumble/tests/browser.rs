//! The page, end to end, in a real browser (Debian's chromium driven by playwright-core) against
//! a real `tumble serve --speed 100`. Screenshots land in target/e2e/.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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
    let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-browser");
    let _ = std::fs::remove_dir_all(&state);
    let mut server = Command::cargo_bin("tumble")
        .unwrap()
        .args(["serve", "--port", "0", "--speed", "100", "--state-dir"])
        .arg(&state)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = BufReader::new(server.stdout.take().unwrap()).lines();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(rest.split('/').next().unwrap().to_owned());
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap();
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
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
}
