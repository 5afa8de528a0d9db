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
