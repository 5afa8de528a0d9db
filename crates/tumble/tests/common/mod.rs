//! What the integration tests share: a real `tumble serve` on a free loopback port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh state directory under the test target folder.
pub fn state_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("serve-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Server {
    pub child: Child,
    pub addr: String,
    /// The token commands need: `--token`'s, or the one the server made in its state
    /// directory; None with `--no-auth`.
    pub token: Option<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(state: &Path, extra: &[&str]) -> Server {
        let mut child = Command::cargo_bin("tumble")
            .unwrap()
            .args([
                "serve",
                "--port",
                "0",
                "--state-dir",
                state.to_str().unwrap(),
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap().to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server starts");
        let given = extra
            .iter()
            .position(|a| *a == "--token")
            .map(|i| extra[i + 1].to_owned());
        let token = match extra.contains(&"--no-auth") {
            true => None,
            false => given.or_else(|| {
                let made = std::fs::read_to_string(state.join("token")).expect("a token was made");
                Some(made.trim().to_owned())
            }),
        };
        Server {
            child,
            addr,
            token,
            log,
        }
    }

    /// The WebSocket URL, with the token.
    pub fn url(&self) -> String {
        match &self.token {
            Some(t) => format!("ws://{}/ws?token={t}", self.addr),
            None => self.bare_url(),
        }
    }

    /// The WebSocket URL without a token.
    pub fn bare_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The page's URL, with the token.
    pub fn page_url(&self) -> String {
        match &self.token {
            Some(t) => format!("http://{}/?token={t}", self.addr),
            None => format!("http://{}/", self.addr),
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn logged(&self, text: &str) -> bool {
        self.logged_count(text) > 0
    }

    /// Waits up to 10 s for a log line with `text` (the log reaches the test on its own thread).
    pub fn wait_logged(&self, text: &str) -> bool {
        for _ in 0..200 {
            if self.logged(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// How many log lines so far contain `text`.
    pub fn logged_count(&self, text: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(text))
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What a test needs from outside Rust (a browser, Node.js, Python), or `None` when this
/// machine cannot give it: the test then says so loudly (on the real stderr, which cargo does
/// not capture) and passes, so the other tests still run. With `TUMBLE_REQUIRE_TOOLS=1` (as
/// `.ci/run` sets it) a missing tool fails the test instead.
pub fn needs<T>(what: &str, found: Result<T, String>) -> Option<T> {
    use std::io::Write;
    match found {
        Ok(t) => Some(t),
        Err(why) if std::env::var_os("TUMBLE_REQUIRE_TOOLS").is_some() => {
            panic!("{what}: {why} (TUMBLE_REQUIRE_TOOLS is set)")
        }
        Err(why) => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "\n*** SKIPPED: this test needs {what}: {why}\n*** (.ci/run installs it; \
                 TUMBLE_REQUIRE_TOOLS=1 makes this a failure)\n"
            );
            None
        }
    }
}

/// `program --version` runs: the tool is there and works.
pub fn runs(program: &str) -> Result<(), String> {
    match Command::new(program).arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("`{program} --version` failed: {}", o.status)),
        Err(e) => Err(format!("cannot run `{program}`: {e}")),
    }
}

/// Debian's chromium; installed with apt-get first when this runs as root and it is missing.
pub fn chromium() -> Result<PathBuf, String> {
    let path = PathBuf::from("/usr/bin/chromium");
    if runs("/usr/bin/chromium").is_ok() {
        return Ok(path);
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root || runs("apt-get").is_err() {
        return Err(
            "Debian's chromium (/usr/bin/chromium), and this is not root with \
                    apt-get to install it: apt-get install chromium"
                .into(),
        );
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let _ = apt(&["update", "-q"]);
    if !apt(&["install", "-y", "-q", "chromium"]) {
        return Err("`apt-get install chromium` failed".into());
    }
    runs("/usr/bin/chromium").map(|()| path)
}
