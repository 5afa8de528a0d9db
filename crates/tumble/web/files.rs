// Every file of the page, with its content type, in one list: `tumble serve`
// (crates/tumble/src/server/web.rs) and the firmware (firmware/esp32c3/src/net.rs) both expand
// it, so the two serve exactly the same page. A file added to web/ goes here; the host test
// `every_page_file_is_embedded` fails until it does.
//
// `page_files!(m)` calls `m! { "path" => "content type", ... }`, paths relative to web/.
macro_rules! page_files {
    ($each:ident) => {
        $each! {
            "index.html" => "text/html; charset=utf-8",
            "style.css" => "text/css; charset=utf-8",
            "app.js" => "text/javascript; charset=utf-8",
            "lib/conn.js" => "text/javascript; charset=utf-8",
            "lib/cycle.js" => "text/javascript; charset=utf-8",
            "lib/draw.js" => "text/javascript; charset=utf-8",
            "lib/editor.js" => "text/javascript; charset=utf-8",
            "lib/format.js" => "text/javascript; charset=utf-8",
            "lib/telemetry.js" => "text/javascript; charset=utf-8",
        }
    };
}

// The built-in programs a washer maker starts from (examples/templates/, valid for the default
// board, checked with `tumble check --strict` by a test), with the name the page offers them
// by. Served at /templates/FILE, and the list at /templates/index.json.
//
// `template_files!(m)` calls `m! { "file" => "name", ... }`, files in examples/templates/;
// `template_files!(m, e)` calls `m! { e; "file" => "name", ... }`.
macro_rules! template_files {
    ($each:ident $(, $pre:expr)?) => {
        $each! {
            $($pre;)?
            "quick-30.json" => "Quick 30",
            "cotton-60.json" => "Cotton 60",
            "delicates.json" => "Delicates",
            "rinse-spin.json" => "Rinse + spin",
            "drain-only.json" => "Drain only",
        }
    };
}

/// The JSON list of the templates: `[{"file":"quick-30.json","name":"Quick 30"},...]`.
macro_rules! template_index {
    ($first:literal => $first_name:literal $(, $file:literal => $name:literal)* $(,)?) => {
        concat!(
            "[{\"file\":\"", $first, "\",\"name\":\"", $first_name, "\"}",
            $(",{\"file\":\"", $file, "\",\"name\":\"", $name, "\"}",)*
            "]"
        )
    };
}
