//! Who may do what on a controller, as every platform decides it (docs/protocol.md, "Access"):
//!
//! - A controller has a token unless its owner opened it on purpose (`--no-auth`). A client that
//!   presents it (`?token=T` or `Authorization: Bearer T`) may do everything ([`Access::Control`]).
//! - A client that presents none gets the hello and is closed ([`NO_TOKEN_CLOSE`]), unless the
//!   owner made the telemetry and status public ([`Access::Telemetry`]): then it stays for them,
//!   and every command is refused (`unauthorized`, see [`permits`]). A client that presents a wrong token is refused at the
//!   door (401), and an address that keeps trying waits longer and longer ([`Attempts`]).
//! - A browser's `Origin` must be an allowed origin, or the controller's own host when the page
//!   was reached by address (or a token guards the door anyway), so a page that points its own
//!   name at the controller (DNS rebinding) does not pass (403); clients that send no Origin
//!   (scripts) are allowed.

use crate::protocol::{Action, Op, Read};
use crate::time::{Duration, Instant};

/// Why an upgrade is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// 401: a wrong token.
    Token,
    /// 403: the page's origin is not allowed.
    Origin,
}

/// What a client may do on its connection, from what it presented when it connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// The hello, then the connection is closed ([`NO_TOKEN_CLOSE`]).
    Hello,
    /// Also the telemetry and `get_status` (the owner made them public).
    Telemetry,
    /// Everything: the token, or a controller opened on purpose.
    Control,
}

impl Access {
    /// How the hello names it: `"none"`, `"telemetry"`, `"control"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Hello => "none",
            Access::Telemetry => "telemetry",
            Access::Control => "control",
        }
    }
}

/// How a controller lets clients in.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy<'a> {
    /// The token; `None`: open to everyone on the network (`--no-auth`).
    pub token: Option<&'a str>,
    /// Clients without the token get the telemetry and `get_status` too.
    pub public_telemetry: bool,
    /// Extra allowed browser origins, comma separated (may be empty).
    pub allowed_origins: &'a str,
}

/// The body of the 401 every platform answers a wrong token with.
pub const UNAUTHORIZED: &str =
    "401 Unauthorized: wrong token (ws://HOST/ws?token=... or Authorization: Bearer ...)\n";

/// The body of the 429 an address gets while it must wait after too many wrong tokens.
pub const TOO_MANY_ATTEMPTS: &str =
    "429 Too Many Requests: too many wrong tokens from this address; wait and try again\n";

/// The close reason a client without the token gets right after the hello (code 1008), when
/// the telemetry is not public: it learns what the controller is and what it needs, and holds
/// no connection slot.
pub const NO_TOKEN_CLOSE: &str =
    "unauthorized: this controller needs its token (ws://HOST/ws?token=...)";

/// What a command without the token is told (code `unauthorized`).
pub const NEEDS_TOKEN: &str =
    "unauthorized: this connection has no token, and commands need it (ws://HOST/ws?token=...)";

/// What the request said.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// The URL query, without `?`, still URL-encoded.
    pub query: Option<&'a str>,
    /// The `Authorization` header, if sent: `Bearer T` carries the token.
    pub authorization: Option<&'a str>,
    /// The `Origin` header: browsers send it, scripts usually do not (and are let through).
    pub origin: Option<&'a str>,
    /// The `Host` header, port included: an Origin with the same host passes when it is an
    /// address (see [`host_is_address`]) or a token is required.
    pub host: Option<&'a str>,
}

/// Lets a client in, and says what it may do.
pub fn admit(req: &Request<'_>, policy: &Policy<'_>) -> Result<Access, Denied> {
    let token = policy.token.filter(|t| !t.is_empty());
    let access = match token {
        None => Access::Control,
        Some(token) => {
            let bearer = req.authorization.and_then(|v| v.strip_prefix("Bearer "));
            let query = req.query.and_then(|q| query_value(q, "token"));
            let valid = bearer.is_some_and(|g| same(g.as_bytes(), token.as_bytes()))
                || query.is_some_and(|v| decoded_equals(v, token));
            match (valid, bearer.is_some() || query.is_some()) {
                // Either one valid will do.
                (true, _) => Access::Control,
                (false, true) => return Err(Denied::Token),
                (false, false) if policy.public_telemetry => Access::Telemetry,
                (false, false) => Access::Hello,
            }
        }
    };
    if let Some(origin) = req.origin {
        let host = req.host.unwrap_or("");
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        let listed = policy
            .allowed_origins
            .split(',')
            .map(str::trim)
            .any(|a| !a.is_empty() && a.eq_ignore_ascii_case(origin));
        let same_origin_trusted = token.is_some() || host_is_address(host);
        if !((same_origin_trusted && origin_host.eq_ignore_ascii_case(host)) || listed) {
            return Err(Denied::Origin);
        }
    }
    Ok(access)
}

/// Whether a client with `access` may have what `protocol::read` made of its frame (ask before
/// parsing a document): what `read` answered itself (errors, `ping`) always; the status with
/// [`Access::Telemetry`], and the history; everything else (documents, queries, commands,
/// the library) with the token.
pub fn permits(access: Access, read: &Read<'_>) -> bool {
    match read {
        Read::Answered(_) => true,
        Read::Command(cmd) if matches!(cmd.action, Action::Op(Op::Status)) => {
            access >= Access::Telemetry
        }
        Read::History(_) => access >= Access::Telemetry,
        _ => access == Access::Control,
    }
}

/// Wrong tokens allowed from one address before it has to wait.
pub const FREE_ATTEMPTS: u32 = 5;
/// The longest wait: the wait doubles from 1 s with each wrong token past the free ones.
pub const MAX_WAIT: Duration = Duration::from_micros(60_000_000);
/// An address with no wrong token for this long is forgotten.
const FORGET: Duration = Duration::from_micros(600_000_000);
/// One log line per address per this long.
const LOG_EVERY: Duration = Duration::from_micros(60_000_000);

/// Wrong tokens by address, in a table of `N` (the address with the oldest wrong token makes
/// room for a new one, one that does not have to wait first): a burst of [`FREE_ATTEMPTS`], then a wait that doubles up to
/// [`MAX_WAIT`]. Work bounded by `N` per attempt, no allocation.
#[derive(Debug, Clone)]
pub struct Attempts<const N: usize> {
    entries: heapless::Vec<Entry, N>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    addr: [u8; 16],
    wrong: u32,
    last: Instant,
    until: Instant,
    logged: Option<Instant>,
}

/// Whether an address may try now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It may.
    Go,
    /// Not before this much longer.
    Wait(Duration),
}

impl<const N: usize> Default for Attempts<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Attempts<N> {
    /// No wrong tokens yet (a `const`, for a static).
    pub const fn new() -> Self {
        Attempts {
            entries: heapless::Vec::new(),
        }
    }

    /// Before an address's upgrade is looked at.
    pub fn check(&mut self, addr: [u8; 16], now: Instant) -> Verdict {
        self.entries
            .retain(|e| now.saturating_duration_since(e.last) < FORGET);
        match self.entries.iter().find(|e| e.addr == addr) {
            Some(e) if e.until > now => Verdict::Wait(e.until.saturating_duration_since(now)),
            _ => Verdict::Go,
        }
    }

    /// A wrong token from `addr`. Returns true when this one is worth a log line (the first in
    /// a minute from this address).
    pub fn failed(&mut self, addr: [u8; 16], now: Instant) -> bool {
        let i = match self.entries.iter().position(|e| e.addr == addr) {
            Some(i) => i,
            None => {
                let fresh = Entry {
                    addr,
                    wrong: 0,
                    last: now,
                    until: Instant::from_micros(0),
                    logged: None,
                };
                if self.entries.push(fresh).is_err() {
                    // An address that must wait keeps its place while another one can go: new
                    // addresses do not buy a waiting one its freedom.
                    let oldest = (0..self.entries.len())
                        .min_by_key(|&i| (self.entries[i].until > now, self.entries[i].last))
                        .unwrap_or(0);
                    self.entries[oldest] = fresh;
                    oldest
                } else {
                    self.entries.len() - 1
                }
            }
        };
        let e = &mut self.entries[i];
        e.wrong = e.wrong.saturating_add(1);
        e.last = now;
        if e.wrong > FREE_ATTEMPTS {
            let doublings = (e.wrong - FREE_ATTEMPTS - 1).min(6);
            let wait = Duration::from_micros(1_000_000u64 << doublings).min(MAX_WAIT);
            e.until = now.saturating_add(wait);
        }
        let log = e
            .logged
            .is_none_or(|t| now.saturating_duration_since(t) >= LOG_EVERY);
        if log {
            e.logged = Some(now);
        }
        log
    }

    /// The right token from `addr`: its count starts again (when it last said so is kept, so
    /// the log still hears of it at most once a minute).
    pub fn succeeded(&mut self, addr: [u8; 16]) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.addr == addr) {
            e.wrong = 0;
            e.until = Instant::from_micros(0);
        }
    }
}

/// The Host header names an IP address or localhost (with or without a port).
pub fn host_is_address(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<core::net::IpAddr>().is_ok()
}

/// The raw (encoded) value of `key` in a query string.
fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then_some(v)
    })
}

/// Compares a URL-encoded value with a secret without stopping at the first difference.
fn decoded_equals(encoded: &str, secret: &str) -> bool {
    let mut decoded = heapless::Vec::<u8, 256>::new();
    let b = encoded.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let byte = match b[i] {
            b'+' => b' ',
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    i += 2;
                    h << 4 | l
                }
                _ => b'%',
            },
            other => other,
        };
        if decoded.push(byte).is_err() {
            return false;
        }
        i += 1;
    }
    same(&decoded, secret.as_bytes())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Equal secrets, in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    fn req<'a>(query: Option<&'a str>, auth: Option<&'a str>) -> Request<'a> {
        Request {
            query,
            authorization: auth,
            ..Default::default()
        }
    }

    /// The old yes/no: let in with control, or why not.
    fn check(req: &Request<'_>, token: Option<&str>, allowed: &str) -> Result<(), Denied> {
        let policy = Policy {
            token,
            public_telemetry: false,
            allowed_origins: allowed,
        };
        match admit(req, &policy)? {
            Access::Control => Ok(()),
            // No token presented where one is needed: in, but for the hello only.
            _ => Err(Denied::Token),
        }
    }

    #[test]
    fn no_token_configured_lets_everyone_in() {
        assert_eq!(check(&req(None, None), None, ""), Ok(()));
        assert_eq!(check(&req(None, None), Some(""), ""), Ok(()));
    }

    #[test]
    fn without_a_token_a_client_gets_the_hello_or_the_telemetry_and_a_wrong_one_nothing() {
        let mut policy = Policy {
            token: Some("s3cret"),
            ..Default::default()
        };
        assert_eq!(admit(&req(None, None), &policy), Ok(Access::Hello));
        assert_eq!(
            admit(&req(Some("token="), None), &policy),
            Err(Denied::Token)
        );
        assert_eq!(
            admit(&req(None, Some("Bearer nope")), &policy),
            Err(Denied::Token)
        );
        policy.public_telemetry = true;
        assert_eq!(admit(&req(None, None), &policy), Ok(Access::Telemetry));
        assert_eq!(
            admit(&req(Some("token=s3cret"), None), &policy),
            Ok(Access::Control)
        );
        assert_eq!(
            admit(&req(Some("token=x"), None), &policy),
            Err(Denied::Token)
        );
    }

    #[test]
    fn wrong_tokens_make_an_address_wait_longer_and_longer() {
        let mut a = Attempts::<4>::default();
        let me = [1; 16];
        let mut now = t(0);
        for _ in 0..FREE_ATTEMPTS {
            assert_eq!(a.check(me, now), Verdict::Go);
            a.failed(me, now);
        }
        assert_eq!(a.check(me, now), Verdict::Go);
        a.failed(me, now);
        assert_eq!(a.check(me, now), Verdict::Wait(Duration::from_millis(1000)));
        assert_eq!(a.check([2; 16], now), Verdict::Go, "others are not held up");
        let mut waits = std::vec::Vec::new();
        for _ in 0..10 {
            now = now.saturating_add(Duration::from_millis(61_000));
            assert_eq!(a.check(me, now), Verdict::Go);
            a.failed(me, now);
            let Verdict::Wait(w) = a.check(me, now) else {
                panic!("waits")
            };
            waits.push(w.as_millis() / 1000);
        }
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60, 60, 60, 60]);
        a.succeeded(me);
        assert_eq!(a.check(me, now), Verdict::Go);
    }

    #[test]
    fn a_full_table_forgets_the_oldest_free_address_and_idle_ones_are_forgotten() {
        let mut a = Attempts::<2>::default();
        for i in 0..=FREE_ATTEMPTS {
            a.failed([1; 16], t(i as u64));
        }
        assert!(matches!(a.check([1; 16], t(10)), Verdict::Wait(_)));
        a.failed([2; 16], t(20));
        a.failed([3; 16], t(30)); // the table is full: [2] goes, [1] must still wait
        assert!(matches!(a.check([1; 16], t(40)), Verdict::Wait(_)));
        for i in 0..FREE_ATTEMPTS {
            a.failed([2; 16], t(41 + i as u64));
        }
        assert_eq!(
            a.check([2; 16], t(50)),
            Verdict::Go,
            "[2] started again from 0"
        );
        for i in 0..=FREE_ATTEMPTS {
            a.failed([4; 16], t(50 + i as u64));
        }
        assert!(matches!(a.check([4; 16], t(60)), Verdict::Wait(_)));
        assert_eq!(a.check([4; 16], t(60).saturating_add(FORGET)), Verdict::Go);
    }

    #[test]
    fn one_log_line_per_address_per_minute() {
        let mut a = Attempts::<4>::default();
        assert!(a.failed([1; 16], t(0)));
        assert!(!a.failed([1; 16], t(1_000_000)));
        assert!(a.failed([2; 16], t(1_000_000)));
        assert!(a.failed([1; 16], t(0).saturating_add(LOG_EVERY)));
        // The right token in between does not make the next wrong one news again.
        a.succeeded([2; 16]);
        assert!(!a.failed([2; 16], t(2_000_000)));
    }

    #[test]
    fn the_token_comes_in_the_query_or_as_a_bearer() {
        let t = Some("s3cret");
        assert_eq!(check(&req(Some("token=s3cret"), None), t, ""), Ok(()));
        assert_eq!(check(&req(Some("a=1&token=s3cret&b"), None), t, ""), Ok(()));
        assert_eq!(check(&req(None, Some("Bearer s3cret")), t, ""), Ok(()));
        assert_eq!(check(&req(None, None), t, ""), Err(Denied::Token));
        assert_eq!(
            check(&req(Some("token=s3cre"), None), t, ""),
            Err(Denied::Token)
        );
        assert_eq!(
            check(&req(Some("token=s3cretX"), None), t, ""),
            Err(Denied::Token)
        );
        assert_eq!(
            check(&req(Some("tokens=s3cret"), None), t, ""),
            Err(Denied::Token)
        );
        assert_eq!(
            check(&req(None, Some("bearer s3cret")), t, ""),
            Err(Denied::Token)
        );
        assert_eq!(
            check(&req(None, Some("Basic s3cret")), t, ""),
            Err(Denied::Token)
        );
        // A wrong query token is not rescued... unless the header carries the right one.
        assert_eq!(
            check(&req(Some("token=x"), Some("Bearer s3cret")), t, ""),
            Ok(())
        );
    }

    #[test]
    fn query_tokens_are_url_decoded() {
        let t = Some("a b&c=d/é");
        let q = "token=a+b%26c%3Dd%2F%C3%A9";
        assert_eq!(check(&req(Some(q), None), t, ""), Ok(()));
        assert_eq!(
            check(&req(Some("token=a%2"), None), Some("a%2"), ""),
            Ok(())
        );
        assert_eq!(
            check(&req(Some("token=%zz"), None), Some("%zz"), ""),
            Ok(())
        );
    }

    #[test]
    fn origins_must_be_this_host_or_allowed() {
        let browser = |origin, host| Request {
            origin: Some(origin),
            host: Some(host),
            ..Default::default()
        };
        let r = browser("http://192.168.0.50:8080", "192.168.0.50:8080");
        assert_eq!(check(&r, None, ""), Ok(()));
        let r = browser("http://evil.example", "192.168.0.50:8080");
        assert_eq!(check(&r, None, ""), Err(Denied::Origin));
        assert_eq!(check(&r, None, "http://other, http://evil.example"), Ok(()));
        let r = browser("http://evil.example", "192.168.0.50:8080");
        assert_eq!(check(&r, None, "http://evil.exampl"), Err(Denied::Origin));
        // Scripts send no Origin.
        assert_eq!(check(&Request::default(), None, ""), Ok(()));
    }

    #[test]
    fn a_name_pointed_at_the_controller_is_not_same_origin_without_a_token() {
        // DNS rebinding: the attacker's name now resolves to the controller; Origin and Host
        // agree, but only an address (or a token) makes same-origin trustworthy.
        let r = Request {
            origin: Some("http://evil.example:8080"),
            host: Some("evil.example:8080"),
            ..Default::default()
        };
        assert_eq!(check(&r, None, ""), Err(Denied::Origin));
        let r = Request {
            origin: Some("http://washer.local:8080"),
            host: Some("washer.local:8080"),
            query: Some("token=t"),
            ..Default::default()
        };
        assert_eq!(check(&r, Some("t"), ""), Ok(()));
        let r = Request {
            origin: Some("http://washer.local:8080"),
            host: Some("washer.local:8080"),
            ..Default::default()
        };
        assert_eq!(check(&r, None, "http://washer.local:8080"), Ok(()));
    }

    #[test]
    fn hosts_that_are_addresses() {
        for h in [
            "127.0.0.1:8080",
            "192.168.1.20",
            "[::1]:8080",
            "localhost:8080",
            "LOCALHOST",
        ] {
            assert!(host_is_address(h), "{h}");
        }
        for h in ["evil.example:8080", "washer.local", ""] {
            assert!(!host_is_address(h), "{h}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}
