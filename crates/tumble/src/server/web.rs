//! The web page, compiled into the binary: plain files, no build step, no CDN.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

include!("../../web/files.rs");

macro_rules! table {
    ($($path:literal => $kind:literal),* $(,)?) => {
        &[$(($path, $kind, include_str!(concat!("../../web/", $path)))),*]
    };
}

/// (path, content type, body) of every file the page needs (web/files.rs).
const FILES: &[(&str, &str, &str)] = page_files!(table);

macro_rules! templates {
    ($($file:literal => $name:literal),* $(,)?) => {
        &[$((
            concat!("templates/", $file),
            "application/json",
            include_str!(concat!("../../../../examples/templates/", $file)),
        )),*]
    };
}

/// The built-in templates (web/files.rs), served as files at /templates/FILE like the page's.
const TEMPLATES: &[(&str, &str, &str)] = template_files!(templates);
/// Their list, as the page asks for it.
const TEMPLATE_INDEX: (&str, &str, &str) = (
    "templates/index.json",
    "application/json",
    template_files!(template_index),
);

pub async fn index() -> Response {
    file("index.html")
}

pub async fn asset(Path(path): Path<String>) -> Response {
    file(&path)
}

fn file(path: &str) -> Response {
    let all = FILES.iter().chain(TEMPLATES).chain([&TEMPLATE_INDEX]);
    match all.into_iter().find(|(p, _, _)| *p == path) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found\n").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page must also fit the chip's flash: under 100 KB gzipped, all files together.
    #[test]
    fn the_page_stays_under_its_budget() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut gzip = Command::new("gzip")
            .args(["-9", "-c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gzip");
        let mut stdin = gzip.stdin.take().unwrap();
        for (_, _, body) in FILES {
            stdin.write_all(body.as_bytes()).unwrap();
        }
        drop(stdin);
        let out = gzip.wait_with_output().unwrap();
        assert!(
            out.stdout.len() < 100 * 1024,
            "{} bytes gzipped",
            out.stdout.len()
        );
    }

    /// Every file in web/ (but its tests) is served: a new module cannot be forgotten here.
    #[test]
    fn every_page_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut on_disk = Vec::new();
        for dir in ["", "lib"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                if name.ends_with(".js") || name.ends_with(".css") || name.ends_with(".html") {
                    on_disk.push(if dir.is_empty() {
                        name
                    } else {
                        format!("{dir}/{name}")
                    });
                }
            }
        }
        on_disk.sort();
        let mut served: Vec<String> = FILES.iter().map(|(p, _, _)| p.to_string()).collect();
        served.sort();
        assert_eq!(on_disk, served);
    }
}
