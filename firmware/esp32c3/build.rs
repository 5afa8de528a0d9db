//! The board profile, read at build time: `TUMBLE_BOARD=FILE` (a profile in the host's TOML
//! format; `tumble board` prints the default), else the host's default profile. It is checked
//! with the firmware's own `Profile::board` (tumble-core's rules and the chip's pins), so a bad
//! profile stops the build with the reason, and written as a `Profile` constant for `src/board.rs`.

use std::path::{Path, PathBuf};
use std::{env, fs};

use tumble_core::sensor::PressureCurve;
use tumble_fw_logic::board::{Profile, Row};

const DEFAULT: &str = "../../crates/tumble/src/sim/default-board.toml";

fn main() {
    println!("cargo:rerun-if-env-changed=TUMBLE_BOARD");
    let path = env::var("TUMBLE_BOARD").unwrap_or_else(|_| DEFAULT.into());
    println!("cargo:rerun-if-changed={path}");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("profile.rs");
    if let Err(why) = generate(Path::new(&path), &out) {
        // Cargo shows this line as the build's error.
        eprintln!("board profile {path}: {why}");
        std::process::exit(1);
    }
}

fn generate(path: &Path, out: &Path) -> Result<(), String> {
    let text = fs::read_to_string(path).map_err(|e| e.to_string())?;
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let number = |section: &str, key: &str| -> Result<f64, String> {
        let v = doc
            .get(section)
            .and_then(|s| s.get(key))
            .ok_or(format!("{section}.{key}: missing"))?;
        v.as_float()
            .or(v.as_integer().map(|i| i as f64))
            .ok_or(format!("{section}.{key}: expected a number"))
    };
    let whole = |section: &str, key: &str| -> Result<u32, String> {
        let n = number(section, key)?;
        (n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64)
            .then_some(n as u32)
            .ok_or(format!("{section}.{key}: expected a whole number >= 0"))
    };
    let rows = outputs(&doc)?;
    let borrowed: Vec<(Vec<&str>, &OwnedRow)> = rows
        .iter()
        .map(|r| (r.aliases.iter().map(String::as_str).collect(), r))
        .collect();
    let rows_ref: Vec<Row<'_>> = borrowed
        .iter()
        .map(|(aliases, r)| Row {
            name: &r.name,
            aliases,
            pin: r.pin,
            active_low: r.active_low,
            inflow_lpm: r.inflow_lpm,
        })
        .collect();
    let source = path.display().to_string();
    let profile = Profile {
        source: &source,
        outputs: &rows_ref,
        reverse_dead_time_ms: whole("board", "reverse_dead_time_ms")?,
        sample_ms: whole("sensors", "sample_ms")?.max(1),
        pressure: PressureCurve {
            c0: number("water", "c0")? as f32,
            c1: number("water", "c1")? as f32,
            c2: number("water", "c2")? as f32,
        },
        raw_per_litre: number("water", "raw_per_litre")? as f32,
        pulses_per_rev: number("drum", "pulses_per_rev")? as f32,
    };
    profile.board().map_err(|e| e.to_string())?;
    fs::write(out, rust(&profile)).map_err(|e| e.to_string())
}

struct OwnedRow {
    name: String,
    aliases: Vec<String>,
    pin: u8,
    active_low: bool,
    inflow_lpm: f32,
}

fn outputs(doc: &toml::Table) -> Result<Vec<OwnedRow>, String> {
    let list = doc
        .get("outputs")
        .and_then(|o| o.as_array())
        .ok_or("outputs: missing (one [[outputs]] per relay)")?;
    list.iter()
        .enumerate()
        .map(|(i, o)| {
            let field = |k: &str| o.get(k).ok_or(format!("outputs[{i}].{k}: missing"));
            let name = field("name")?
                .as_str()
                .ok_or(format!("outputs[{i}].name: expected a string"))?;
            let pin = field("pin")?
                .as_integer()
                .and_then(|p| u8::try_from(p).ok())
                .ok_or(format!("outputs[{i}].pin: expected a GPIO number"))?;
            let active_low = field("active_low")?
                .as_bool()
                .ok_or(format!("outputs[{i}].active_low: expected true or false"))?;
            let aliases = field("aliases")?
                .as_array()
                .and_then(|a| a.iter().map(|s| s.as_str().map(String::from)).collect())
                .ok_or(format!("outputs[{i}].aliases: expected a list of strings"))?;
            // Optional, as on the host: 0 for an output that lets no water in.
            let inflow_lpm = match o.get("inflow_lpm") {
                None => 0.0,
                Some(v) => v
                    .as_float()
                    .or(v.as_integer().map(|i| i as f64))
                    .filter(|&n| n >= 0.0)
                    .ok_or(format!("outputs[{i}].inflow_lpm: expected a number >= 0"))?
                    as f32,
            };
            Ok(OwnedRow {
                name: name.into(),
                aliases,
                pin,
                active_low,
                inflow_lpm,
            })
        })
        .collect()
}

/// The profile as a Rust constant (`{:?}` of a string is a valid Rust string literal).
fn rust(p: &Profile<'_>) -> String {
    let rows: String = p
        .outputs
        .iter()
        .map(|r| {
            format!(
                "    Row {{ name: {:?}, aliases: &{:?}, pin: {}, active_low: {}, inflow_lpm: {:?} }},\n",
                r.name, r.aliases, r.pin, r.active_low, r.inflow_lpm
            )
        })
        .collect();
    format!(
        "/// Generated by build.rs from {src:?}.\npub const PROFILE: Profile<'static> = Profile {{\n  source: {src:?},\n  outputs: &[\n{rows}  ],\n  reverse_dead_time_ms: {dead},\n  sample_ms: {sample},\n  pressure: PressureCurve {{ c0: {c0:?}, c1: {c1:?}, c2: {c2:?} }},\n  raw_per_litre: {rpl:?},\n  pulses_per_rev: {ppr:?},\n}};\n",
        src = p.source,
        dead = p.reverse_dead_time_ms,
        sample = p.sample_ms,
        c0 = p.pressure.c0,
        c1 = p.pressure.c1,
        c2 = p.pressure.c2,
        ppr = p.pulses_per_rev,
        rpl = p.raw_per_litre,
    )
}
