//! Commands only the serial console takes, in the v2 shape (one JSON object per line):
//!
//! ```text
//! {"cmd":"set_wifi","ssid":"Laundry","password":"secret","id":1}   store and use these
//! {"cmd":"set_wifi","ssid":"Cafe"}                                  an open network
//! {"cmd":"clear_wifi"}                                              forget the stored ones
//! {"cmd":"set_mqtt","url":"mqtt://10.0.0.5","washer":"w3","commands":true}   the broker
//! {"cmd":"clear_mqtt"}                                              forget it (the build's apply)
//! {"cmd":"get_token"}                                               the token commands need
//! {"cmd":"rotate_token"}                                            a new one; its clients go
//! help                                                              this list
//! ```
//!
//! And one command of the chip's own that the WebSocket takes too (it tells, changes nothing):
//!
//! ```text
//! {"cmd":"get_memory","id":1}     free heap, its high-water, the main stack's high-water
//! ```
//!
//! Anything else on the console goes to tumble-core's protocol, like a WebSocket frame. Wi-Fi
//! credentials and the token are not given or taken over the network: whoever can reach the
//! WebSocket could otherwise move the controller to another network, or let themselves in. The
//! console is the machine's own wire: whoever holds it holds the machine.

use core::fmt::{self, Write};

use crate::record::{MAX_PASSWORD, MAX_SSID, MAX_URL, MAX_WASHER};
use tumble_core::json::{self, Kind, Object, Reader};
use tumble_core::protocol::write_ok;

/// A console-only command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local<'a> {
    SetWifi {
        id: Option<&'a [u8]>,
        ssid: heapless::String<MAX_SSID>,
        password: heapless::String<MAX_PASSWORD>,
    },
    ClearWifi {
        id: Option<&'a [u8]>,
    },
    /// The MQTT broker to publish to, and this washer's id there.
    SetMqtt {
        id: Option<&'a [u8]>,
        url: heapless::String<MAX_URL>,
        washer: heapless::String<MAX_WASHER>,
        commands: bool,
    },
    ClearMqtt {
        id: Option<&'a [u8]>,
    },
    /// The RAM figures of the running chip (over the WebSocket too).
    GetMemory {
        id: Option<&'a [u8]>,
    },
    /// The token commands need.
    GetToken {
        id: Option<&'a [u8]>,
    },
    /// A new token: the clients that came with the old one are closed.
    RotateToken {
        id: Option<&'a [u8]>,
    },
    Help,
    /// A console command with bad parameters.
    Refused {
        id: Option<&'a [u8]>,
        message: &'static str,
        path: &'static str,
    },
}

/// The console-only command on this line, or None when the line is for the protocol.
pub fn parse(line: &[u8]) -> Option<Local<'_>> {
    let trimmed = line.trim_ascii();
    if trimmed.eq_ignore_ascii_case(b"help") || trimmed == b"?" {
        return Some(Local::Help);
    }
    json::check_syntax(line).ok()?;
    let mut r = Reader::new(line);
    if r.peek().ok()? != Kind::Object {
        return None;
    }
    let mut cmd = None;
    let mut id = None;
    let mut ssid = None;
    let mut password = None;
    let (mut url, mut washer, mut commands) = (None, None, None);
    let mut members = r.object().ok()?;
    while let Some(key) = r.next_key(&mut members).ok()? {
        r.peek().ok()?;
        let start = r.offset();
        r.skip_value().ok()?;
        let raw = &line[start..r.offset()];
        let slot = if key.eq_ignore_ascii_case("cmd") {
            &mut cmd
        } else if key.eq_ignore_ascii_case("id") {
            &mut id
        } else if key.eq_ignore_ascii_case("ssid") {
            &mut ssid
        } else if key.eq_ignore_ascii_case("password") {
            &mut password
        } else if key.eq_ignore_ascii_case("url") {
            &mut url
        } else if key.eq_ignore_ascii_case("washer") {
            &mut washer
        } else if key.eq_ignore_ascii_case("commands") {
            &mut commands
        } else {
            continue;
        };
        // The first of duplicate keys counts, as in the protocol.
        if slot.is_none() {
            *slot = Some(raw);
        }
    }
    let name = cmd.and_then(|raw| {
        let mut r = Reader::new(raw);
        (r.peek().ok()? == Kind::String).then_some(())?;
        r.string().ok()
    })?;
    if name.eq_exact("clear_wifi") {
        return Some(Local::ClearWifi { id });
    }
    if name.eq_exact("get_memory") {
        return Some(Local::GetMemory { id });
    }
    if name.eq_exact("get_token") {
        return Some(Local::GetToken { id });
    }
    if name.eq_exact("rotate_token") {
        return Some(Local::RotateToken { id });
    }
    if name.eq_exact("clear_mqtt") {
        return Some(Local::ClearMqtt { id });
    }
    if name.eq_exact("set_mqtt") {
        return Some(set_mqtt(id, url, washer, commands));
    }
    if !name.eq_exact("set_wifi") {
        return None;
    }
    let refused = |message, path| Some(Local::Refused { id, message, path });
    let Some(ssid) = ssid else {
        return refused("set_wifi needs an ssid (a string)", "ssid");
    };
    let Some(ssid) = text::<MAX_SSID>(ssid) else {
        return refused("ssid must be a string of 1 to 32 bytes", "ssid");
    };
    if ssid.is_empty() {
        return refused("ssid must be a string of 1 to 32 bytes", "ssid");
    }
    let password = match password {
        None => heapless::String::new(),
        Some(raw) => match text::<MAX_PASSWORD>(raw) {
            Some(p) if p.is_empty() || p.len() >= 8 => p,
            _ => {
                return refused(
                    "password must be a string of 8 to 64 bytes, or empty for an open network",
                    "password",
                );
            }
        },
    };
    Some(Local::SetWifi { id, ssid, password })
}

/// `set_mqtt`'s parameters checked: the broker must be one the chip can reach, the washer's id
/// one topic level (`washer` when absent), `commands` true or false (false when absent).
fn set_mqtt<'a>(
    id: Option<&'a [u8]>,
    url: Option<&[u8]>,
    washer: Option<&[u8]>,
    commands: Option<&[u8]>,
) -> Local<'a> {
    let refused = |message, path| Local::Refused { id, message, path };
    let Some(url) = url.and_then(text::<MAX_URL>) else {
        return refused(
            "set_mqtt needs a url: mqtt://[USER[:PASSWORD]@]A.B.C.D[:PORT], at most 128 bytes",
            "url",
        );
    };
    if let Err(why) = crate::mqtt::Broker::parse(&url) {
        return refused(why, "url");
    }
    let washer = match washer {
        None => "washer".try_into().unwrap_or_default(),
        Some(raw) => match text::<MAX_WASHER>(raw) {
            Some(w) if tumble_core::mqtt::is_level(&w) => w,
            _ => {
                return refused(
                    "washer must be one topic level of at most 32 bytes (no '/', '+' or '#')",
                    "washer",
                );
            }
        },
    };
    let commands = match commands {
        None | Some(b"false") => false,
        Some(b"true") => true,
        Some(_) => return refused("commands must be true or false", "commands"),
    };
    Local::SetMqtt {
        id,
        url,
        washer,
        commands,
    }
}

/// `{"type":"reply","id":ID,"ok":true,"result":{"url":"...","washer":"...","commands":B,
/// "saved":"now"}}`: the URL without its password.
pub fn write_mqtt_ok(
    w: &mut impl Write,
    id: Option<&[u8]>,
    url: &str,
    washer: &str,
    commands: bool,
    saved: Saved,
) -> fmt::Result {
    let shown = hide_password(url);
    write_ok(w, id, |w| {
        let mut o = Object::open(w)?;
        o.field("url", tumble_core::json::Text(shown))?
            .field("washer", washer)?
            .field("commands", commands)?
            .field("saved", saved.word())?;
        o.close()
    })
}

/// A URL with its password, if it has one, as `***`.
pub fn hide_password(url: &str) -> impl fmt::Display + '_ {
    struct Hidden<'a>(&'a str);
    impl fmt::Display for Hidden<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let url = self.0;
            let scheme_end = url.find("://").map_or(0, |i| i + 3);
            match url.rfind('@') {
                Some(at) if at > scheme_end => {
                    let creds = &url[scheme_end..at];
                    match creds.split_once(':') {
                        Some((user, _)) => {
                            write!(f, "{}{user}:***{}", &url[..scheme_end], &url[at..])
                        }
                        None => f.write_str(url),
                    }
                }
                _ => f.write_str(url),
            }
        }
    }
    Hidden(url)
}

/// A JSON string value, unescaped, if it fits `N` bytes.
fn text<const N: usize>(raw: &[u8]) -> Option<heapless::String<N>> {
    let mut r = Reader::new(raw);
    if r.peek().ok()? != Kind::String {
        return None;
    }
    let s = r.string().ok()?;
    let mut out = heapless::String::new();
    for ch in s.chars() {
        out.push(ch).ok()?;
    }
    Some(out)
}

/// When the credentials reach flash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Written now.
    Now,
    /// A cycle is running: flash is not written while a phase runs, so the write waits until
    /// the controller is idle.
    WhenIdle,
}

impl Saved {
    fn word(self) -> &'static str {
        match self {
            Saved::Now => "now",
            Saved::WhenIdle => "when_idle",
        }
    }
}

/// `{"type":"reply","id":ID,"ok":true,"result":{"ssid":"...","saved":"now"}}`.
pub fn write_wifi_ok(
    w: &mut impl Write,
    id: Option<&[u8]>,
    ssid: &str,
    saved: Saved,
) -> fmt::Result {
    write_ok(w, id, |w| {
        let mut o = Object::open(w)?;
        o.field("ssid", ssid)?.field("saved", saved.word())?;
        o.close()
    })
}

/// The console's help text.
pub const HELP: &str = "\
Tumble console: one command per line, replies as on ws://HOST:8080/ws.
  {\"action\":\"start_cycle\"}                    v1 commands (plain-text replies)
  {\"cmd\":\"get_status\",\"id\":1}                 v2 commands (JSON replies); see docs/protocol.md
  {\"action\":\"write_json\",\"data\":{\"phases\":[...]}}   load a cycle (the whole document on one line)
  {\"cmd\":\"set_wifi\",\"ssid\":\"NAME\",\"password\":\"PASS\"}   store Wi-Fi credentials (console only)
  {\"cmd\":\"clear_wifi\"}                          forget them (the build-time ones apply again)
  {\"cmd\":\"set_mqtt\",\"url\":\"mqtt://A.B.C.D\",\"washer\":\"ID\",\"commands\":true}   the MQTT broker (console only)
  {\"cmd\":\"clear_mqtt\"}                          forget it (the build-time one applies again)
  {\"cmd\":\"get_memory\",\"id\":1}                 free heap, stack and heap high-water
  {\"cmd\":\"get_token\"}                           the token WebSocket commands need (console only)
  {\"cmd\":\"rotate_token\"}                        a new token; clients with the old one are closed
  help                                           this text";

/// Bytes of a token the chip makes: 128 bits, as 32 hex digits.
pub const TOKEN_RANDOM: usize = 16;
/// The longest token kept (one given at build time may be longer than a made one).
pub const MAX_TOKEN: usize = 64;

/// A token from random bytes: lower-case hex.
pub fn token_from(random: [u8; TOKEN_RANDOM]) -> heapless::String<MAX_TOKEN> {
    let mut t = heapless::String::new();
    for b in random {
        // 32 of at most 64 bytes: it fits.
        let _ = write!(t, "{b:02x}");
    }
    t
}

/// A stored token's payload, if it is one: 16 to [`MAX_TOKEN`] ASCII letters and digits.
pub fn is_token(payload: &[u8]) -> Option<&str> {
    let ok = (16..=MAX_TOKEN).contains(&payload.len())
        && payload.iter().all(|b| b.is_ascii_alphanumeric());
    ok.then(|| core::str::from_utf8(payload).ok()).flatten()
}

/// `{"type":"reply","id":..,"ok":true,"result":{"token":"..","saved":".."}}`.
pub fn write_token_ok(
    w: &mut impl Write,
    id: Option<&[u8]>,
    token: &str,
    saved: Option<Saved>,
) -> fmt::Result {
    write_ok(w, id, |w| {
        let mut o = Object::open(w)?;
        o.field("token", token)?
            .field_if("saved", saved.map(Saved::word))?;
        o.close()
    })
}

/// What `get_memory` reports, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// The main stack (every thread-mode task, and the interrupts that land on it).
    pub stack_size: usize,
    /// Its deepest use since boot (painted at boot, read back on request).
    pub stack_used_max: usize,
    /// The Wi-Fi heap: size, in use, deepest use since boot (None: no heap in this build).
    pub heap: Option<(usize, usize, usize)>,
}

/// `{"type":"reply","id":..,"ok":true,"result":{"stack":{...},"heap":{...}|null}}`.
pub fn write_memory(w: &mut impl Write, id: Option<&[u8]>, m: &Memory) -> fmt::Result {
    write_ok(w, id, |w| {
        let mut o = Object::open(w)?;
        let mut stack = o.object("stack")?;
        stack
            .field("size", m.stack_size)?
            .field("used_max", m.stack_used_max)?
            .field("free_min", m.stack_size.saturating_sub(m.stack_used_max))?;
        stack.close()?;
        match m.heap {
            Some((size, used, used_max)) => {
                let mut heap = o.object("heap")?;
                heap.field("size", size)?
                    .field("used", used)?
                    .field("used_max", used_max)?
                    .field("free", size.saturating_sub(used))?;
                heap.close()?;
            }
            None => {
                o.field("heap", None::<u8>)?;
            }
        }
        o.close()
    })
}

/// Bytes of a painted stack that were never used: the painted words at its bottom.
pub fn unused_bytes(words_from_bottom: impl IntoIterator<Item = u32>, paint: u32) -> usize {
    4 * words_from_bottom
        .into_iter()
        .take_while(|&w| w == paint)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    #[test]
    fn set_wifi_with_and_without_password() {
        let l =
            parse(br#"{"cmd":"set_wifi","ssid":"Laundry \"2\"","password":"secret123","id":7}"#);
        assert_eq!(
            l,
            Some(Local::SetWifi {
                id: Some(b"7"),
                ssid: "Laundry \"2\"".try_into().unwrap(),
                password: "secret123".try_into().unwrap()
            })
        );
        let l = parse(br#"  {"CMD":"set_wifi","Ssid":"Cafe"}  "#);
        assert_eq!(
            l,
            Some(Local::SetWifi {
                id: None,
                ssid: "Cafe".try_into().unwrap(),
                password: heapless::String::new()
            })
        );
    }

    #[test]
    fn clear_and_help() {
        assert_eq!(
            parse(br#"{"cmd":"clear_wifi","id":{"a":[1]}}"#),
            Some(Local::ClearWifi {
                id: Some(br#"{"a":[1]}"#)
            })
        );
        assert_eq!(parse(b"help"), Some(Local::Help));
        assert_eq!(parse(b" HELP \r"), Some(Local::Help));
    }

    #[test]
    fn the_token_commands_and_what_a_token_is() {
        assert_eq!(
            parse(br#"{"cmd":"get_token","id":3}"#),
            Some(Local::GetToken { id: Some(b"3") })
        );
        assert_eq!(
            parse(br#"{"cmd":"rotate_token"}"#),
            Some(Local::RotateToken { id: None })
        );
        let t = token_from([0xab; TOKEN_RANDOM]);
        assert_eq!(t.len(), 32);
        assert!(t.chars().all(|c| c == 'a' || c == 'b'));
        assert_eq!(is_token(t.as_bytes()), Some(t.as_str()));
        assert_eq!(is_token(b"short"), None);
        assert_eq!(is_token(b"0123456789abcdef!"), None);
        assert_eq!(is_token(&[b'a'; MAX_TOKEN + 1]), None);
        let mut w = heapless::String::<128>::new();
        write_token_ok(&mut w, Some(b"1"), "abc", Some(Saved::Now)).unwrap();
        assert_eq!(
            w.as_str(),
            r#"{"type":"reply","id":1,"ok":true,"result":{"token":"abc","saved":"now"}}"#
        );
    }

    #[test]
    fn everything_else_is_for_the_protocol() {
        for line in [
            &br#"{"cmd":"start","id":1}"#[..],
            br#"{"action":"set_wifi"}"#,
            br#"{"cmd":"SET_WIFI","ssid":"x"}"#,
            br#"{"cmd":5}"#,
            b"connect",
            b"{not json",
            b"[1,2]",
            b"",
        ] {
            assert_eq!(parse(line), None, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn bad_parameters_are_refused_with_their_path() {
        let cases: [(&[u8], &str); 6] = [
            (br#"{"cmd":"set_wifi"}"#, "ssid"),
            (br#"{"cmd":"set_wifi","ssid":""}"#, "ssid"),
            (br#"{"cmd":"set_wifi","ssid":5}"#, "ssid"),
            (
                br#"{"cmd":"set_wifi","ssid":"123456789012345678901234567890123"}"#,
                "ssid",
            ),
            (
                br#"{"cmd":"set_wifi","ssid":"x","password":"short"}"#,
                "password",
            ),
            (
                br#"{"cmd":"set_wifi","ssid":"x","password":null}"#,
                "password",
            ),
        ];
        for (line, want) in cases {
            match parse(line) {
                Some(Local::Refused { path, .. }) => assert_eq!(path, want),
                other => panic!("{}: {other:?}", String::from_utf8_lossy(line)),
            }
        }
        // 32 bytes of SSID and 64 of password are the limits, not past them.
        let ok = br#"{"cmd":"set_wifi","ssid":"12345678901234567890123456789012","password":"1234567890123456789012345678901234567890123456789012345678901234"}"#;
        assert!(matches!(parse(ok), Some(Local::SetWifi { .. })));
    }

    #[test]
    fn replies_are_v2_json() {
        let mut s = String::new();
        write_wifi_ok(&mut s, Some(b"\"x\""), "Net \"A\"", Saved::WhenIdle).unwrap();
        assert_eq!(
            s,
            r#"{"type":"reply","id":"x","ok":true,"result":{"ssid":"Net \"A\"","saved":"when_idle"}}"#
        );
        serde_json::from_str::<serde_json::Value>(&s).unwrap();
        s.clear();
        tumble_core::protocol::write_v2_error(
            &mut s,
            None,
            "invalid_request",
            "bad \"ssid\"",
            "ssid",
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["id"], serde_json::Value::Null);
        assert_eq!(v["error"]["message"], "bad \"ssid\"");
        assert_eq!(v["error"]["path"], "ssid");
    }

    #[test]
    fn get_memory_is_recognised_and_reported() {
        assert_eq!(
            parse(br#"{"cmd":"get_memory","id":7}"#),
            Some(Local::GetMemory {
                id: Some(&b"7"[..])
            })
        );
        let mut s = String::new();
        let m = Memory {
            stack_size: 62_920,
            stack_used_max: 41_000,
            heap: Some((57_344, 30_000, 45_000)),
        };
        write_memory(&mut s, Some(b"7"), &m).unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["result"]["stack"]["free_min"], 21_920);
        assert_eq!(v["result"]["heap"]["free"], 27_344);
        s.clear();
        write_memory(&mut s, None, &Memory { heap: None, ..m }).unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["result"]["heap"], serde_json::Value::Null);
    }

    #[test]
    fn the_unused_stack_is_the_paint_left_at_its_bottom() {
        const P: u32 = 0x5a5a_5a5a;
        assert_eq!(unused_bytes([P, P, P, 0, P, 7], P), 12);
        assert_eq!(unused_bytes([1, P], P), 0);
        assert_eq!(unused_bytes([P; 4], P), 16);
    }
}

#[cfg(test)]
mod mqtt_tests {
    use super::*;

    #[test]
    fn set_mqtt_takes_a_broker_the_chip_reaches_and_says_what_is_wrong_otherwise() {
        let l = parse(br#"{"cmd":"set_mqtt","url":"mqtt://u:p@10.0.0.5:1884","washer":"w3","commands":true,"id":2}"#);
        assert_eq!(
            l,
            Some(Local::SetMqtt {
                id: Some(b"2"),
                url: "mqtt://u:p@10.0.0.5:1884".try_into().unwrap(),
                washer: "w3".try_into().unwrap(),
                commands: true,
            })
        );
        let l = parse(br#"{"cmd":"set_mqtt","url":"mqtt://10.0.0.5"}"#);
        assert!(
            matches!(l, Some(Local::SetMqtt { ref washer, commands: false, .. }) if washer == "washer")
        );
        assert_eq!(
            parse(br#"{"cmd":"clear_mqtt","id":1}"#),
            Some(Local::ClearMqtt { id: Some(b"1") })
        );
        for (line, path, says) in [
            (&br#"{"cmd":"set_mqtt"}"#[..], "url", "set_mqtt needs a url"),
            (
                br#"{"cmd":"set_mqtt","url":"mqtt://broker.lan"}"#,
                "url",
                "IPv4",
            ),
            (
                br#"{"cmd":"set_mqtt","url":"mqtts://10.0.0.5"}"#,
                "url",
                "TLS",
            ),
            (
                br#"{"cmd":"set_mqtt","url":"mqtt://10.0.0.5","washer":"a/b"}"#,
                "washer",
                "one topic level",
            ),
            (
                br#"{"cmd":"set_mqtt","url":"mqtt://10.0.0.5","commands":1}"#,
                "commands",
                "true or false",
            ),
        ] {
            match parse(line) {
                Some(Local::Refused {
                    message, path: p, ..
                }) => {
                    assert_eq!(p, path, "{}", std::str::from_utf8(line).unwrap());
                    assert!(message.contains(says), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_reply_never_shows_the_password() {
        let mut s = std::string::String::new();
        write_mqtt_ok(
            &mut s,
            Some(b"1"),
            "mqtt://laundry:s3cret@10.0.0.5",
            "w3",
            true,
            Saved::Now,
        )
        .unwrap();
        assert!(!s.contains("s3cret"), "{s}");
        assert!(s.contains(r#""url":"mqtt://laundry:***@10.0.0.5""#), "{s}");
        assert_eq!(
            std::format!("{}", hide_password("mqtt://10.0.0.5")),
            "mqtt://10.0.0.5"
        );
        assert_eq!(
            std::format!("{}", hide_password("mqtt://u@10.0.0.5")),
            "mqtt://u@10.0.0.5"
        );
    }
}
