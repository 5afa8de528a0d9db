//! The record a platform keeps in flash: a 16-byte header, then the payload (a cycle document as
//! received, or Wi-Fi credentials). The header carries a magic, a format version, the kind, the
//! payload length and its CRC-32, so a record that was torn by a power cut, written by another
//! program or by a later format is refused instead of loaded.
//!
//! ```text
//! offset  size  field
//!      0     4  magic "TMBL"
//!      4     1  format version (1)
//!      5     1  kind: 1 = cycle document, 2 = Wi-Fi credentials, 4 = the access token
//!                 (two bits apart from each other: a single flipped bit is never another kind)
//!      6     2  reserved, 0
//!      8     4  payload length, little endian
//!     12     4  CRC-32 (ISO-HDLC, as zlib) of the payload, little endian
//!     16     n  payload
//! ```
//!
//! [`seal_in_place`] writes the header into the bytes just before a payload that is already in
//! a buffer (a received frame has at least that much before its document when the platform
//! leaves room for it), so a large document is stored without a second buffer.

use core::fmt;
use core::ops::Range;

/// The first four bytes of every record; erased flash (all 0xFF) never matches.
pub const MAGIC: [u8; 4] = *b"TMBL";
/// The header format this code writes and reads; a record of another version is refused.
pub const VERSION: u8 = 1;
/// Header bytes before the payload: the room [`seal_in_place`] needs before a document.
pub const HEADER_LEN: usize = 16;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A cycle document, the bytes as a client sent them.
    Cycle = 1,
    /// Wi-Fi credentials, see [`encode_credentials`].
    Credentials = 2,
    /// The token commands need: its ASCII letters and digits (see `local::is_token`).
    Token = 4,
    /// A run for the history: tumble-core's `history::write_run` JSON.
    Run = 7,
    /// The MQTT broker, see [`encode_mqtt`].
    Mqtt = 8,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        match b {
            1 => Some(Kind::Cycle),
            2 => Some(Kind::Credentials),
            4 => Some(Kind::Token),
            7 => Some(Kind::Run),
            8 => Some(Kind::Mqtt),
            _ => None,
        }
    }
}

/// Why bytes are not a valid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Fewer bytes than a header.
    Truncated {
        /// Bytes there were.
        len: usize,
    },
    /// The first four bytes are not [`MAGIC`]: erased flash, or another program's data.
    BadMagic,
    /// A format version other than [`VERSION`], e.g. written by a later firmware.
    UnsupportedVersion(u8),
    /// The kind byte names neither a cycle document nor credentials.
    UnknownKind(u8),
    /// The reserved bytes are not zero.
    Reserved,
    /// The header's length does not match the bytes there are.
    BadLength {
        /// Payload bytes the header announces.
        declared: u32,
        /// Payload bytes after the header.
        actual: usize,
    },
    /// The payload's CRC-32 is not the header's: a torn write or flipped bits.
    BadChecksum {
        /// The CRC the header carries.
        stored: u32,
        /// The CRC of the payload as read.
        computed: u32,
    },
    /// Encoding: the output cannot hold the header and the payload, or there is no room for the
    /// header before the payload.
    NoRoom,
    /// The payload is longer than a record can describe.
    TooLong,
    /// Credentials: an SSID longer than 32 bytes, a password longer than 64, or not UTF-8.
    BadCredentials,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Truncated { len } => {
                write!(f, "{len} bytes, shorter than a {HEADER_LEN}-byte header")
            }
            RecordError::BadMagic => f.write_str("not a Tumble record (bad magic)"),
            RecordError::UnsupportedVersion(v) => {
                write!(f, "record format version {v} is not supported")
            }
            RecordError::UnknownKind(k) => write!(f, "unknown record kind {k}"),
            RecordError::Reserved => f.write_str("reserved header bytes are not zero"),
            RecordError::BadLength { declared, actual } => write!(
                f,
                "header says {declared} payload bytes, the record has {actual}"
            ),
            RecordError::BadChecksum { stored, computed } => write!(
                f,
                "CRC mismatch (stored {stored:08x}, computed {computed:08x}): the record is corrupt"
            ),
            RecordError::NoRoom => f.write_str("no room for the record"),
            RecordError::TooLong => f.write_str("payload too long for a record"),
            RecordError::BadCredentials => f.write_str("invalid Wi-Fi credentials"),
        }
    }
}

/// A decoded record, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// What the payload holds.
    pub kind: Kind,
    /// The payload bytes, checked against the header's length and CRC.
    pub payload: &'a [u8],
}

/// The header for `payload`.
pub fn header(kind: Kind, payload: &[u8]) -> Result<[u8; HEADER_LEN], RecordError> {
    let len = u32::try_from(payload.len()).map_err(|_| RecordError::TooLong)?;
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[4] = VERSION;
    h[5] = kind as u8;
    h[8..12].copy_from_slice(&len.to_le_bytes());
    h[12..16].copy_from_slice(&crc32(payload).to_le_bytes());
    Ok(h)
}

/// Writes header and payload to `out`; returns the record's length.
pub fn encode(kind: Kind, payload: &[u8], out: &mut [u8]) -> Result<usize, RecordError> {
    let total = HEADER_LEN
        .checked_add(payload.len())
        .ok_or(RecordError::TooLong)?;
    let h = header(kind, payload)?;
    let out = out.get_mut(..total).ok_or(RecordError::NoRoom)?;
    out[..HEADER_LEN].copy_from_slice(&h);
    out[HEADER_LEN..].copy_from_slice(payload);
    Ok(total)
}

/// Turns `buf[payload]` into a record by writing the header into the 16 bytes before it (which
/// are overwritten). Returns the range of the whole record in `buf`.
pub fn seal_in_place(
    buf: &mut [u8],
    payload: Range<usize>,
    kind: Kind,
) -> Result<Range<usize>, RecordError> {
    let start = payload
        .start
        .checked_sub(HEADER_LEN)
        .ok_or(RecordError::NoRoom)?;
    if payload.end > buf.len() || payload.start > payload.end {
        return Err(RecordError::NoRoom);
    }
    let h = header(kind, &buf[payload.clone()])?;
    buf[start..payload.start].copy_from_slice(&h);
    Ok(start..payload.end)
}

/// Checks a whole record (header and exactly its payload) and returns its contents.
pub fn decode(bytes: &[u8]) -> Result<Record<'_>, RecordError> {
    if bytes.len() < HEADER_LEN {
        return Err(RecordError::Truncated { len: bytes.len() });
    }
    let (h, payload) = bytes.split_at(HEADER_LEN);
    if h[..4] != MAGIC {
        return Err(RecordError::BadMagic);
    }
    if h[4] != VERSION {
        return Err(RecordError::UnsupportedVersion(h[4]));
    }
    let kind = Kind::from_u8(h[5]).ok_or(RecordError::UnknownKind(h[5]))?;
    if h[6] != 0 || h[7] != 0 {
        return Err(RecordError::Reserved);
    }
    let declared = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if declared as usize != payload.len() {
        return Err(RecordError::BadLength {
            declared,
            actual: payload.len(),
        });
    }
    let stored = u32::from_le_bytes([h[12], h[13], h[14], h[15]]);
    let computed = crc32(payload);
    if stored != computed {
        return Err(RecordError::BadChecksum { stored, computed });
    }
    Ok(Record { kind, payload })
}

/// CRC-32/ISO-HDLC (the zlib, PNG and Ethernet CRC): reflected polynomial 0xEDB88320, initial
/// value and final XOR 0xFFFFFFFF. `crc32(b"123456789") == 0xCBF43926`.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

const TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Longest SSID (IEEE 802.11), in bytes.
pub const MAX_SSID: usize = 32;
/// Longest WPA2 passphrase (63 characters) or hex key (64), in bytes.
pub const MAX_PASSWORD: usize = 64;

/// Wi-Fi credentials as stored. An empty SSID means "none stored" (forget the stored ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credentials<'a> {
    /// The network's name, at most [`MAX_SSID`] bytes.
    pub ssid: &'a str,
    /// Empty for an open network.
    pub password: &'a str,
}

/// The credentials payload: SSID length (1 byte), SSID, password length (1 byte), password.
pub fn encode_credentials(c: &Credentials<'_>, out: &mut [u8]) -> Result<usize, RecordError> {
    if c.ssid.len() > MAX_SSID || c.password.len() > MAX_PASSWORD {
        return Err(RecordError::BadCredentials);
    }
    let next = put_length_prefixed(out, 0, c.ssid)?;
    put_length_prefixed(out, next, c.password)
}

/// `s` (checked to be under 256 bytes) after its one-byte length at `at` in `out`, and where
/// it ends; the other half of [`length_prefixed`].
fn put_length_prefixed(out: &mut [u8], at: usize, s: &str) -> Result<usize, RecordError> {
    let end = at + 1 + s.len();
    let field = out.get_mut(at..end).ok_or(RecordError::NoRoom)?;
    field[0] = s.len() as u8;
    field[1..].copy_from_slice(s.as_bytes());
    Ok(end)
}

/// The longest broker URL kept (`mqtt://user:password@a.b.c.d:port`).
pub const MAX_URL: usize = 128;
/// The longest washer id on the broker (one topic level, the client id).
pub const MAX_WASHER: usize = 32;

/// The MQTT settings as stored. An empty URL means "none stored" (the build's apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MqttSettings<'a> {
    pub url: &'a str,
    pub washer: &'a str,
    pub commands: bool,
}

/// The MQTT payload: URL length (1 byte), URL, washer length (1 byte), washer, commands (1 byte).
pub fn encode_mqtt(m: &MqttSettings<'_>, out: &mut [u8]) -> Result<usize, RecordError> {
    if m.url.len() > MAX_URL || m.washer.len() > MAX_WASHER {
        return Err(RecordError::BadCredentials);
    }
    let next = put_length_prefixed(out, 0, m.url)?;
    let end = put_length_prefixed(out, next, m.washer)?;
    *out.get_mut(end).ok_or(RecordError::NoRoom)? = u8::from(m.commands);
    Ok(end + 1)
}

/// Reads an MQTT payload; every byte must be accounted for.
pub fn decode_mqtt(payload: &[u8]) -> Result<MqttSettings<'_>, RecordError> {
    let (url, next) = length_prefixed(payload, 0, MAX_URL)?;
    let (washer, end) = length_prefixed(payload, next, MAX_WASHER)?;
    match payload.get(end..) {
        Some([c @ (0 | 1)]) => Ok(MqttSettings {
            url,
            washer,
            commands: *c == 1,
        }),
        _ => Err(RecordError::BadCredentials),
    }
}

/// A string of at most `max` bytes after its one-byte length at `at`, and where it ends.
fn length_prefixed(payload: &[u8], at: usize, max: usize) -> Result<(&str, usize), RecordError> {
    let len = *payload.get(at).ok_or(RecordError::BadCredentials)? as usize;
    let bytes = payload
        .get(at + 1..at + 1 + len)
        .filter(|_| len <= max)
        .ok_or(RecordError::BadCredentials)?;
    let text = core::str::from_utf8(bytes).map_err(|_| RecordError::BadCredentials)?;
    Ok((text, at + 1 + len))
}

/// Reads a credentials payload; every byte must be accounted for.
pub fn decode_credentials(payload: &[u8]) -> Result<Credentials<'_>, RecordError> {
    let (ssid, next) = length_prefixed(payload, 0, MAX_SSID)?;
    let (password, end) = length_prefixed(payload, next, MAX_PASSWORD)?;
    if end != payload.len() {
        return Err(RecordError::BadCredentials);
    }
    Ok(Credentials { ssid, password })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const DOC: &[u8] =
        br#"{"phases":[{"id":"fill","components":[{"compId":"Cold Valve","duration":60000}]}]}"#;

    fn record(kind: Kind, payload: &[u8]) -> Vec<u8> {
        let mut out = std::vec![0u8; HEADER_LEN + payload.len()];
        assert_eq!(encode(kind, payload, &mut out), Ok(out.len()));
        out
    }

    #[test]
    fn crc_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"a"), 0xE8B7_BE43);
    }

    #[test]
    fn round_trip() {
        let r = record(Kind::Cycle, DOC);
        assert_eq!(&r[..4], b"TMBL");
        assert_eq!(r[4], VERSION);
        assert_eq!(r[5], 1);
        assert_eq!(&r[8..12], &(DOC.len() as u32).to_le_bytes());
        assert_eq!(
            decode(&r),
            Ok(Record {
                kind: Kind::Cycle,
                payload: DOC
            })
        );
        let empty = record(Kind::Credentials, b"");
        assert_eq!(decode(&empty).map(|r| r.payload.len()), Ok(0));
    }

    #[test]
    fn encode_needs_room() {
        let mut small = [0u8; HEADER_LEN + 3];
        assert_eq!(
            encode(Kind::Cycle, b"four", &mut small),
            Err(RecordError::NoRoom)
        );
        assert_eq!(encode(Kind::Cycle, b"thr", &mut small), Ok(HEADER_LEN + 3));
    }

    #[test]
    fn seal_in_place_writes_the_header_before_the_payload() {
        // A frame as received, with room left before it.
        let frame = br#"{"action":"write_json","data":{"phases":[]}}"#;
        let mut buf = std::vec![0xAAu8; HEADER_LEN];
        buf.extend_from_slice(frame);
        let doc_start = HEADER_LEN + frame.iter().position(|&b| b == b':').unwrap() + 1;
        let doc_start = doc_start
            + frame[doc_start - HEADER_LEN..]
                .iter()
                .position(|&b| b == b'{')
                .unwrap();
        let doc_end = buf.len() - 1;
        assert_eq!(&buf[doc_start..doc_end], br#"{"phases":[]}"#);
        let rec = seal_in_place(&mut buf, doc_start..doc_end, Kind::Cycle).unwrap();
        assert_eq!(rec, doc_start - HEADER_LEN..doc_end);
        let r = decode(&buf[rec]).unwrap();
        assert_eq!(r.kind, Kind::Cycle);
        assert_eq!(r.payload, br#"{"phases":[]}"#);
        // The same bytes as encoding into a separate buffer.
        assert_eq!(
            &buf[doc_start - HEADER_LEN..doc_end],
            &record(Kind::Cycle, br#"{"phases":[]}"#)[..]
        );
    }

    #[test]
    fn seal_in_place_refuses_without_room() {
        let mut buf = [0u8; 32];
        assert_eq!(
            seal_in_place(&mut buf, 15..20, Kind::Cycle),
            Err(RecordError::NoRoom)
        );
        assert_eq!(
            seal_in_place(&mut buf, 16..33, Kind::Cycle),
            Err(RecordError::NoRoom)
        );
        assert_eq!(
            seal_in_place(&mut buf, Range { start: 20, end: 18 }, Kind::Cycle),
            Err(RecordError::NoRoom)
        );
        assert_eq!(seal_in_place(&mut buf, 16..32, Kind::Cycle), Ok(0..32));
    }

    #[test]
    fn every_single_bit_flip_is_caught() {
        let good = record(Kind::Cycle, DOC);
        for byte in 0..good.len() {
            for bit in 0..8 {
                let mut bad = good.clone();
                bad[byte] ^= 1 << bit;
                assert!(
                    decode(&bad).is_err(),
                    "flip of bit {bit} in byte {byte} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn corrupt_records_say_why() {
        let good = record(Kind::Cycle, DOC);
        assert_eq!(decode(&good[..10]), Err(RecordError::Truncated { len: 10 }));
        assert_eq!(decode(&[]), Err(RecordError::Truncated { len: 0 }));

        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(decode(&bad), Err(RecordError::BadMagic));

        let mut bad = good.clone();
        bad[4] = 2;
        assert_eq!(decode(&bad), Err(RecordError::UnsupportedVersion(2)));

        let mut bad = good.clone();
        bad[5] = 9;
        assert_eq!(decode(&bad), Err(RecordError::UnknownKind(9)));

        let mut bad = good.clone();
        bad[7] = 1;
        assert_eq!(decode(&bad), Err(RecordError::Reserved));

        // Torn: the tail of the payload never made it.
        let torn = &good[..good.len() - 5];
        assert_eq!(
            decode(torn),
            Err(RecordError::BadLength {
                declared: DOC.len() as u32,
                actual: DOC.len() - 5
            })
        );
        // Trailing bytes are not silently accepted either.
        let mut long = good.clone();
        long.push(b' ');
        assert!(matches!(decode(&long), Err(RecordError::BadLength { .. })));

        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] = b']';
        assert!(matches!(decode(&bad), Err(RecordError::BadChecksum { .. })));

        // Erased flash reads as 0xFF.
        assert_eq!(decode(&[0xFF; 64]), Err(RecordError::BadMagic));
    }

    #[test]
    fn errors_display_as_sentences() {
        let e = decode(&[0xFF; 4]).unwrap_err();
        assert_eq!(
            std::format!("{e}"),
            "4 bytes, shorter than a 16-byte header"
        );
        let mut bad = record(Kind::Cycle, b"x");
        bad[HEADER_LEN] = b'y';
        let msg = std::format!("{}", decode(&bad).unwrap_err());
        assert!(msg.starts_with("CRC mismatch"), "{msg}");
    }

    #[test]
    fn credentials_round_trip() {
        let c = Credentials {
            ssid: "Laundry Room 2",
            password: "wäsche-2026",
        };
        let mut buf = [0u8; 128];
        let n = encode_credentials(&c, &mut buf).unwrap();
        assert_eq!(n, 2 + c.ssid.len() + c.password.len());
        assert_eq!(decode_credentials(&buf[..n]), Ok(c));

        let open = Credentials {
            ssid: "open",
            password: "",
        };
        let n = encode_credentials(&open, &mut buf).unwrap();
        assert_eq!(decode_credentials(&buf[..n]), Ok(open));

        let none = Credentials {
            ssid: "",
            password: "",
        };
        let n = encode_credentials(&none, &mut buf).unwrap();
        assert_eq!(&buf[..n], &[0, 0]);
        assert_eq!(decode_credentials(&buf[..n]), Ok(none));
    }

    #[test]
    fn credentials_limits() {
        let mut buf = [0u8; 256];
        let ssid = "s".repeat(MAX_SSID);
        let password = "p".repeat(MAX_PASSWORD);
        let c = Credentials {
            ssid: &ssid,
            password: &password,
        };
        let n = encode_credentials(&c, &mut buf).unwrap();
        assert_eq!(decode_credentials(&buf[..n]), Ok(c));

        let long_ssid = "s".repeat(MAX_SSID + 1);
        let c = Credentials {
            ssid: &long_ssid,
            password: "",
        };
        assert_eq!(
            encode_credentials(&c, &mut buf),
            Err(RecordError::BadCredentials)
        );
        let long_pw = "p".repeat(MAX_PASSWORD + 1);
        let c = Credentials {
            ssid: "x",
            password: &long_pw,
        };
        assert_eq!(
            encode_credentials(&c, &mut buf),
            Err(RecordError::BadCredentials)
        );
        let c = Credentials {
            ssid: "x",
            password: "y",
        };
        assert_eq!(
            encode_credentials(&c, &mut buf[..3]),
            Err(RecordError::NoRoom)
        );
    }

    #[test]
    fn bad_credential_payloads_are_refused() {
        let bad: [&[u8]; 7] = [
            b"",
            &[3, b'a', b'b'],        // SSID runs past the end
            &[1, b'a'],              // no password length
            &[1, b'a', 2, b'p'],     // password runs past the end
            &[1, b'a', 0, b'x'],     // trailing byte
            &[1, 0xFF, 0],           // not UTF-8
            &[33, b'a', b'a', b'a'], // SSID longer than 32
        ];
        for payload in bad {
            assert_eq!(
                decode_credentials(payload),
                Err(RecordError::BadCredentials),
                "{payload:?}"
            );
        }
        let mut too_long = std::vec![33u8];
        too_long.extend(std::iter::repeat_n(b'a', 33));
        too_long.push(0);
        assert_eq!(
            decode_credentials(&too_long),
            Err(RecordError::BadCredentials)
        );
    }

    #[test]
    fn credentials_travel_inside_a_record() {
        let c = Credentials {
            ssid: "net",
            password: "secret12",
        };
        let mut payload = [0u8; 100];
        let n = encode_credentials(&c, &mut payload).unwrap();
        let r = record(Kind::Credentials, &payload[..n]);
        let got = decode(&r).unwrap();
        assert_eq!(got.kind, Kind::Credentials);
        assert_eq!(decode_credentials(got.payload), Ok(c));
    }
}

#[cfg(test)]
mod mqtt_tests {
    use super::*;

    #[test]
    fn mqtt_settings_round_trip_and_a_damaged_payload_is_refused() {
        let m = MqttSettings {
            url: "mqtt://u:p@10.0.0.5:1884",
            washer: "w3",
            commands: true,
        };
        let mut buf = [0u8; 200];
        let n = encode_mqtt(&m, &mut buf).unwrap();
        assert_eq!(decode_mqtt(&buf[..n]), Ok(m));
        assert!(decode_mqtt(&buf[..n - 1]).is_err(), "cut short");
        let mut extra = buf[..n + 1].to_vec();
        extra[n] = 0;
        assert!(decode_mqtt(&extra).is_err(), "a byte too many");
        buf[n - 1] = 7;
        assert!(decode_mqtt(&buf[..n]).is_err(), "commands neither 0 nor 1");
    }
}
