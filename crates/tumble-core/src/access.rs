//! Who may open the WebSocket, as `tumble serve` decides it (docs/protocol.md, "Access and
//! limits"): with a token, the upgrade needs `?token=T` or `Authorization: Bearer T` (401
//! otherwise); a browser's `Origin` must be an allowed origin, or the controller's own host when
//! the page was reached by address (or a token guards the door anyway), so a page that points
//! its own name at the controller (DNS rebinding) does not pass (403); clients that send no
//! Origin (scripts) are allowed.

/// Why an upgrade is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// 401: no valid token.
    Token,
    /// 403: the page's origin is not allowed.
    Origin,
}

/// The body of the 401 every platform answers a missing or wrong token with.
pub const UNAUTHORIZED: &str = "401 Unauthorized: this controller needs a token (ws://HOST/ws?token=... or Authorization: Bearer ...)\n";

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

/// Checks an upgrade. `token`: the required token, if any; `allowed`: extra allowed origins,
/// comma separated (may be empty).
pub fn check(req: &Request<'_>, token: Option<&str>, allowed: &str) -> Result<(), Denied> {
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        let bearer = req
            .authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|g| same(g.as_bytes(), token.as_bytes()));
        let query = req
            .query
            .and_then(|q| query_value(q, "token"))
            .is_some_and(|v| decoded_equals(v, token));
        // The host takes the query's token first, then the header; either one valid will do.
        if !(bearer || query) {
            return Err(Denied::Token);
        }
    }
    if let Some(origin) = req.origin {
        let host = req.host.unwrap_or("");
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        let listed = allowed
            .split(',')
            .map(str::trim)
            .any(|a| !a.is_empty() && a.eq_ignore_ascii_case(origin));
        let tokened = token.is_some_and(|t| !t.is_empty());
        let same_origin_trusted = tokened || host_is_address(host);
        if !((same_origin_trusted && origin_host.eq_ignore_ascii_case(host)) || listed) {
            return Err(Denied::Origin);
        }
    }
    Ok(())
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

    fn req<'a>(query: Option<&'a str>, auth: Option<&'a str>) -> Request<'a> {
        Request {
            query,
            authorization: auth,
            ..Default::default()
        }
    }

    #[test]
    fn no_token_configured_lets_everyone_in() {
        assert_eq!(check(&req(None, None), None, ""), Ok(()));
        assert_eq!(check(&req(None, None), Some(""), ""), Ok(()));
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
