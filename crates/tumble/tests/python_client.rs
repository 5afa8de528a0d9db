//! An outside client drives the server: Python's `websockets` package, as a user's script
//! would. The package is installed in a virtual environment under target/ (`.ci/run` makes it
//! first; this test makes it itself when it is missing).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{Server, needs, repo, runs, state_dir};

fn python() -> Result<PathBuf, String> {
    let venv = repo().join("target/py-venv");
    let python = venv.join("bin/python");
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", "import websockets"])
            .status()
            .is_ok_and(|s| s.success());
    if ready {
        return Ok(python);
    }
    runs("python3")?;
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        return Err("`python3 -m venv` failed (Debian: apt-get install python3-venv)".into());
    }
    let installed = Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "websockets"])
        .status()
        .is_ok_and(|s| s.success());
    match installed {
        true => Ok(python),
        false => Err(format!(
            "`pip install websockets` into {} failed (it needs PyPI)",
            venv.display()
        )),
    }
}

#[test]
fn pythons_websockets_drives_the_original_protocol() {
    let Some(python) = needs("Python 3 with the websockets package", python()) else {
        return;
    };
    let server = Server::start(&state_dir("python"), &["--speed", "10"]);
    let url = server.url();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/original_client.py");
    let out = Command::new(python).arg(script).arg(&url).output().unwrap();
    drop(server);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("python client: ok"), "{stdout}");
}
