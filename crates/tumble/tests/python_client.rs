//! An outside client drives the server: Python's `websockets` package, as a user's script
//! would. The package is installed in a virtual environment under target/ (`.ci/run` makes it
//! first; this test makes it itself when it is missing).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/py-venv");
    let python = venv.join("bin/python");
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", "import websockets"])
            .status()
            .is_ok_and(|s| s.success());
    if !ready {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap()
            .success()
            && Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "websockets"])
                .status()
                .unwrap()
                .success();
        assert!(
            ok,
            "cannot install Python's websockets into {}",
            venv.display()
        );
    }
    python
}

#[test]
fn pythons_websockets_drives_the_original_protocol() {
    let python = python();
    let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("serve-python");
    let _ = std::fs::remove_dir_all(&state);
    let mut server = Command::cargo_bin("tumble")
        .unwrap()
        .args([
            "serve",
            "--port",
            "0",
            "--speed",
            "10",
            "--state-dir",
            state.to_str().unwrap(),
        ])
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
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/original_client.py");
    let out = Command::new(python)
        .arg(script)
        .arg(format!("ws://{addr}/ws"))
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("python client: ok"), "{stdout}");
}
