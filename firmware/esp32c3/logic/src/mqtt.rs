//! MQTT 3.1.1, the few packets a washer needs, as bytes in a buffer and bytes out of one: no
//! socket, no clock, no allocation (the firmware's MQTT task moves the bytes, as it moves a
//! WebSocket's). What is published is tumble-core's `mqtt` module, the same as the host's.
//!
//! Sent: CONNECT (client id, keep-alive, a retained last will, user name and password),
//! PUBLISH at QoS 0, SUBSCRIBE at QoS 0, PINGREQ. Read: CONNACK, PUBLISH, SUBACK, PINGRESP;
//! anything else is skipped by its length. Subscribing at QoS 0 makes the broker deliver at
//! QoS 0, so nothing received needs an acknowledgement.
//!
//! Why not a crate: rust-mqtt 0.5 reuses its receive memory only through an `unsafe` reset,
//! and minimq needs embedded-nal's blocking sockets, not embassy-net's async ones.

use core::fmt::{self, Write};
use core::ops::Range;

/// A packet does not fit the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooSmall;

/// The bytes received are not MQTT the washer can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// The most a fixed header takes: the type byte and a four-byte remaining length.
const HEAD: usize = 5;

/// A last will: what the broker publishes, retained at QoS 1, when the connection dies (a
/// kill, a power cut).
#[derive(Debug, Clone, Copy)]
pub struct Will<'a> {
    pub topic: &'a str,
    pub payload: &'a str,
}

/// What CONNECT says.
#[derive(Debug, Clone, Copy)]
pub struct Connect<'a> {
    pub client_id: &'a str,
    pub keep_alive_s: u16,
    pub will: Option<Will<'a>>,
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// A packet being written: its variable header and payload from offset [`HEAD`], the fixed
/// header put in front of them at the end.
struct Packet<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl fmt::Write for Packet<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

impl<'b> Packet<'b> {
    fn new(buf: &'b mut [u8]) -> Result<Self, TooSmall> {
        if buf.len() < HEAD {
            return Err(TooSmall);
        }
        Ok(Packet { buf, len: HEAD })
    }

    fn put(&mut self, b: &[u8]) -> Result<(), TooSmall> {
        let end = self.len + b.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(TooSmall)?
            .copy_from_slice(b);
        self.len = end;
        Ok(())
    }

    fn u16(&mut self, v: u16) -> Result<(), TooSmall> {
        self.put(&v.to_be_bytes())
    }

    /// A string (or binary) with its two-byte length.
    fn str(&mut self, s: &[u8]) -> Result<(), TooSmall> {
        self.u16(u16::try_from(s.len()).map_err(|_| TooSmall)?)?;
        self.put(s)
    }

    /// A string `write` writes, its two-byte length put in front.
    fn str_with(&mut self, write: impl FnOnce(&mut Self) -> fmt::Result) -> Result<(), TooSmall> {
        let at = self.len;
        self.u16(0)?;
        write(self).map_err(|_| TooSmall)?;
        let len = u16::try_from(self.len - at - 2).map_err(|_| TooSmall)?;
        self.buf[at..at + 2].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// Puts the fixed header of `kind` in front: the packet's range in the buffer.
    fn finish(self, kind: u8) -> Result<Range<usize>, TooSmall> {
        let mut rest = self.len - HEAD;
        let (mut len, mut n) = ([0u8; 4], 0);
        loop {
            let digit = (rest % 128) as u8;
            rest /= 128;
            *len.get_mut(n).ok_or(TooSmall)? = digit | if rest > 0 { 0x80 } else { 0 };
            n += 1;
            if rest == 0 {
                break;
            }
        }
        let start = HEAD - 1 - n;
        self.buf[start] = kind;
        self.buf[start + 1..HEAD].copy_from_slice(&len[..n]);
        Ok(start..self.len)
    }
}

/// CONNECT into `buf`: the packet's range.
pub fn connect(buf: &mut [u8], c: &Connect<'_>) -> Result<Range<usize>, TooSmall> {
    let mut p = Packet::new(buf)?;
    p.str(b"MQTT")?;
    let mut flags = 0x02; // a clean session: the washer re-subscribes at every connection
    if c.will.is_some() {
        flags |= 0x04 | 0x08 | 0x20; // a will, at QoS 1, retained
    }
    if c.user.is_some() {
        flags |= 0x80;
    }
    if c.password.is_some() {
        flags |= 0x40;
    }
    p.put(&[4, flags])?; // protocol level 4: MQTT 3.1.1
    p.u16(c.keep_alive_s)?;
    p.str(c.client_id.as_bytes())?;
    if let Some(will) = c.will {
        p.str(will.topic.as_bytes())?;
        p.str(will.payload.as_bytes())?;
    }
    for field in [c.user, c.password].into_iter().flatten() {
        p.str(field.as_bytes())?;
    }
    p.finish(0x10)
}

/// PUBLISH at QoS 0 into `buf`, its topic and payload written by `topic` and `payload`: the
/// packet's range.
pub fn publish(
    buf: &mut [u8],
    retain: bool,
    topic: impl FnOnce(&mut dyn Write) -> fmt::Result,
    payload: impl FnOnce(&mut dyn Write) -> fmt::Result,
) -> Result<Range<usize>, TooSmall> {
    let mut p = Packet::new(buf)?;
    p.str_with(|p| topic(p))?;
    payload(&mut p).map_err(|_| TooSmall)?;
    p.finish(0x30 | u8::from(retain))
}

/// The head of a PUBLISH at QoS 0 whose payload, `payload_len` bytes, is sent after it as it
/// is (a reply, a telemetry frame already in a buffer of its own): the head's range in `buf`.
pub fn publish_head(
    buf: &mut [u8],
    retain: bool,
    topic: impl FnOnce(&mut dyn Write) -> fmt::Result,
    payload_len: usize,
) -> Result<Range<usize>, TooSmall> {
    let mut p = Packet::new(buf)?;
    p.str_with(|p| topic(p))?;
    let head = p.len;
    p.len += payload_len; // counted in the remaining length, not written here
    let range = p.finish(0x30 | u8::from(retain))?;
    Ok(range.start..head)
}

/// Where the broker is: `mqtt://[USER[:PASSWORD]@]A.B.C.D[:PORT]` (an IPv4 address: the chip
/// looks no names up; plain TCP, port 1883 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broker<'a> {
    pub ip: [u8; 4],
    pub port: u16,
    pub user: Option<&'a str>,
    pub password: Option<&'a str>,
}

impl<'a> Broker<'a> {
    /// The broker of `url`, or why it is not one the chip can reach.
    pub fn parse(url: &'a str) -> Result<Self, &'static str> {
        if url.starts_with("mqtts://") {
            return Err("mqtts:// (TLS) is not built into the chip: use mqtt://");
        }
        let rest = url
            .strip_prefix("mqtt://")
            .ok_or("expected mqtt://A.B.C.D[:PORT]")?;
        let (credentials, host) = match rest.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, rest),
        };
        let (user, password) = match credentials.map(|c| c.split_once(':').unwrap_or((c, ""))) {
            Some((u, p)) => (Some(u), (!p.is_empty()).then_some(p)),
            None => (None, None),
        };
        let host = host.trim_end_matches('/');
        let (addr, port) = match host.rsplit_once(':') {
            Some((a, p)) => (a, p.parse().map_err(|_| "a bad port")?),
            None => (host, 1883),
        };
        let mut ip = [0u8; 4];
        let mut parts = addr.split('.');
        for byte in &mut ip {
            let part = parts
                .next()
                .ok_or("the host must be an IPv4 address (A.B.C.D)")?;
            *byte = part
                .parse()
                .map_err(|_| "the host must be an IPv4 address (A.B.C.D)")?;
        }
        if parts.next().is_some() {
            return Err("the host must be an IPv4 address (A.B.C.D)");
        }
        Ok(Broker {
            ip,
            port,
            user,
            password,
        })
    }
}

/// SUBSCRIBE to one filter at QoS 0, packet id `id`: the packet's range.
pub fn subscribe(
    buf: &mut [u8],
    id: u16,
    filter: impl FnOnce(&mut dyn Write) -> fmt::Result,
) -> Result<Range<usize>, TooSmall> {
    let mut p = Packet::new(buf)?;
    p.u16(id)?;
    p.str_with(|p| filter(p))?;
    p.put(&[0])?;
    p.finish(0x82)
}

/// PINGREQ: keeps the connection alive between publishes.
pub const PINGREQ: [u8; 2] = [0xC0, 0];

/// A packet the washer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming<'a> {
    /// The broker's answer to CONNECT: 0 accepted, else why not (MQTT 3.1.1's return codes).
    ConnAck { code: u8 },
    /// A message on a subscribed topic; `retained` when the broker kept it from before this
    /// connection (a command there would run again at every reconnection).
    Publish {
        topic: &'a str,
        payload: &'a [u8],
        retained: bool,
    },
    /// A subscription's answer: the QoS granted, or 0x80 refused.
    SubAck { id: u16, granted: u8 },
    /// The answer to PINGREQ.
    PingResp,
    /// Anything else (skipped).
    Other(u8),
}

/// The next whole packet at the start of `buf` and its length, or None while it is not all
/// there yet.
pub fn read(buf: &[u8]) -> Result<Option<(Incoming<'_>, usize)>, Malformed> {
    let Some(&kind) = buf.first() else {
        return Ok(None);
    };
    let (mut rest, mut shift, mut at) = (0usize, 0, 1);
    loop {
        let Some(&b) = buf.get(at) else {
            return Ok(None);
        };
        rest |= ((b & 0x7F) as usize) << shift;
        at += 1;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 21 {
            return Err(Malformed);
        }
    }
    let Some(body) = buf.get(at..at + rest) else {
        return Ok(None);
    };
    let u16_at = |i: usize| -> Result<u16, Malformed> {
        let b = body.get(i..i + 2).ok_or(Malformed)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    };
    let packet = match kind >> 4 {
        2 => Incoming::ConnAck {
            code: *body.get(1).ok_or(Malformed)?,
        },
        3 => {
            let len = u16_at(0)? as usize;
            let topic = body.get(2..2 + len).ok_or(Malformed)?;
            let topic = core::str::from_utf8(topic).map_err(|_| Malformed)?;
            // QoS 1 or 2 carry a packet id before the payload.
            let skip = if (kind >> 1) & 3 > 0 { 2 } else { 0 };
            let payload = body.get(2 + len + skip..).ok_or(Malformed)?;
            Incoming::Publish {
                topic,
                payload,
                retained: kind & 1 == 1,
            }
        }
        9 => Incoming::SubAck {
            id: u16_at(0)?,
            granted: *body.get(2).ok_or(Malformed)?,
        },
        13 => Incoming::PingResp,
        other => Incoming::Other(other),
    };
    Ok(Some((packet, at + rest)))
}

/// Why a broker refused CONNECT, in words.
pub fn refusal(code: u8) -> &'static str {
    match code {
        1 => "unacceptable protocol version",
        2 => "client id rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        _ => "refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connect_says_what_mqtt_3_1_1_asks() {
        let mut buf = [0u8; 128];
        let c = Connect {
            client_id: "w1",
            keep_alive_s: 15,
            will: Some(Will {
                topic: "t/w1/availability",
                payload: "offline",
            }),
            user: Some("u"),
            password: Some("p"),
        };
        let r = connect(&mut buf, &c).unwrap();
        let p = &buf[r];
        assert_eq!(p[0], 0x10);
        assert_eq!(p[1] as usize, p.len() - 2);
        assert_eq!(&p[2..10], b"\0\x04MQTT\x04\xEE");
        assert_eq!(&p[10..12], &[0, 15]);
        assert_eq!(&p[12..16], b"\0\x02w1");
        assert!(p.ends_with(b"\0\x01u\0\x01p"));
    }

    #[test]
    fn a_publish_round_trips_and_a_long_one_takes_a_longer_length() {
        let mut buf = std::vec![0u8; 20_000];
        for size in [0usize, 1, 120, 200, 17_000] {
            let payload = "x".repeat(size);
            let r = publish(
                &mut buf,
                true,
                |w| w.write_str("tumble/w1/state"),
                |w| w.write_str(&payload),
            )
            .unwrap();
            let p = &buf[r];
            assert_eq!(p[0], 0x31, "PUBLISH, retained");
            let (packet, used) = read(p).unwrap().unwrap();
            assert_eq!(used, p.len());
            assert_eq!(
                packet,
                Incoming::Publish {
                    topic: "tumble/w1/state",
                    payload: payload.as_bytes(),
                    retained: true,
                }
            );
            // One byte short: not there yet.
            assert_eq!(read(&p[..p.len() - 1]).unwrap(), None);
        }
    }

    #[test]
    fn a_publish_head_says_the_length_of_the_payload_sent_after_it() {
        let mut buf = [0u8; 64];
        let mut whole = std::vec![0u8; 400];
        let payload = "y".repeat(300);
        let head = publish_head(&mut buf, true, |w| w.write_str("t/state"), 300).unwrap();
        let full = publish(
            &mut whole,
            true,
            |w| w.write_str("t/state"),
            |w| w.write_str(&payload),
        )
        .unwrap();
        let mut joined = buf[head].to_vec();
        joined.extend_from_slice(payload.as_bytes());
        assert_eq!(joined, whole[full].to_vec());
    }

    #[test]
    fn broker_urls_the_chip_can_reach() {
        let b = Broker::parse("mqtt://u:p@10.0.2.2:1884").unwrap();
        assert_eq!(
            (b.ip, b.port, b.user, b.password),
            ([10, 0, 2, 2], 1884, Some("u"), Some("p"))
        );
        let b = Broker::parse("mqtt://192.168.1.5").unwrap();
        assert_eq!(
            (b.ip, b.port, b.user, b.password),
            ([192, 168, 1, 5], 1883, None, None)
        );
        for (url, why) in [
            (
                "mqtts://10.0.0.1",
                "mqtts:// (TLS) is not built into the chip: use mqtt://",
            ),
            ("http://10.0.0.1", "expected mqtt://A.B.C.D[:PORT]"),
            (
                "mqtt://broker.local",
                "the host must be an IPv4 address (A.B.C.D)",
            ),
            (
                "mqtt://10.0.0.1.2",
                "the host must be an IPv4 address (A.B.C.D)",
            ),
            (
                "mqtt://10.0.0.256",
                "the host must be an IPv4 address (A.B.C.D)",
            ),
            ("mqtt://10.0.0.1:x", "a bad port"),
        ] {
            assert_eq!(Broker::parse(url), Err(why), "{url}");
        }
    }

    #[test]
    fn what_does_not_fit_is_refused_not_cut() {
        let mut buf = [0u8; 16];
        let r = publish(
            &mut buf,
            false,
            |w| w.write_str("a/b"),
            |w| w.write_str("0123456789"),
        );
        assert_eq!(r, Err(TooSmall));
        let r = subscribe(&mut buf, 1, |w| w.write_str("tumble/w1/command"));
        assert_eq!(r, Err(TooSmall));
    }

    #[test]
    fn acknowledgements_and_unknown_packets_are_read_by_their_length() {
        let bytes = [0x20, 2, 0, 0, 0x90, 3, 0, 7, 0, 0xD0, 0, 0xB0, 2, 0, 1];
        let (a, n) = read(&bytes).unwrap().unwrap();
        assert_eq!((a, n), (Incoming::ConnAck { code: 0 }, 4));
        let (b, m) = read(&bytes[n..]).unwrap().unwrap();
        assert_eq!((b, m), (Incoming::SubAck { id: 7, granted: 0 }, 5));
        let (c, k) = read(&bytes[n + m..]).unwrap().unwrap();
        assert_eq!((c, k), (Incoming::PingResp, 2));
        let (d, _) = read(&bytes[n + m + k..]).unwrap().unwrap();
        assert_eq!(d, Incoming::Other(11));
        assert_eq!(read(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 1]), Err(Malformed));
    }

    /// Against a real broker, when the machine has one (Debian's mosquitto): connect with a
    /// will, subscribe, publish to the subscription and read it back.
    #[test]
    fn a_real_mosquitto_takes_these_packets() {
        use std::io::{Read, Write as _};
        let Some(bin) = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
        else {
            assert!(
                std::env::var_os("TUMBLE_REQUIRE_TOOLS").is_none(),
                "no mosquitto (apt-get install mosquitto)"
            );
            std::eprintln!("skipped: no mosquitto");
            return;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = std::env::temp_dir().join(std::format!("tumble-fw-mqtt-{port}.conf"));
        std::fs::write(
            &conf,
            std::format!("listener {port} 127.0.0.1\nallow_anonymous true\n"),
        )
        .unwrap();
        let mut broker = std::process::Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut tcp = None;
        for _ in 0..100 {
            if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                tcp = Some(s);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let mut tcp = tcp.expect("mosquitto listens");
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 512];
        let mut rx = std::vec::Vec::new();
        let next = |tcp: &mut std::net::TcpStream, rx: &mut std::vec::Vec<u8>| loop {
            if let Some((p, n)) = read(rx).unwrap() {
                let owned = std::format!("{p:?}");
                rx.drain(..n);
                return owned;
            }
            let mut chunk = [0u8; 256];
            let got = tcp.read(&mut chunk).unwrap();
            assert!(got > 0, "the broker closed the connection");
            rx.extend_from_slice(&chunk[..got]);
        };
        let c = Connect {
            client_id: "fw-test",
            keep_alive_s: 15,
            will: Some(Will {
                topic: "t/fw-test/availability",
                payload: "offline",
            }),
            user: None,
            password: None,
        };
        let r = connect(&mut buf, &c).unwrap();
        tcp.write_all(&buf[r]).unwrap();
        assert_eq!(next(&mut tcp, &mut rx), "ConnAck { code: 0 }");
        let r = subscribe(&mut buf, 1, |w| w.write_str("t/fw-test/command")).unwrap();
        tcp.write_all(&buf[r]).unwrap();
        assert_eq!(next(&mut tcp, &mut rx), "SubAck { id: 1, granted: 0 }");
        let r = publish(
            &mut buf,
            false,
            |w| w.write_str("t/fw-test/command"),
            |w| w.write_str(r#"{"cmd":"get_status","id":1}"#),
        )
        .unwrap();
        tcp.write_all(&buf[r]).unwrap();
        let got = next(&mut tcp, &mut rx);
        assert!(
            got.starts_with("Publish { topic: \"t/fw-test/command\""),
            "{got}"
        );
        tcp.write_all(&PINGREQ).unwrap();
        assert_eq!(next(&mut tcp, &mut rx), "PingResp");
        let _ = broker.kill();
        let _ = broker.wait();
        let _ = std::fs::remove_file(&conf);
    }
}
