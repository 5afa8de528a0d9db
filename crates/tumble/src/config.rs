//! `tumble serve --config FILE` (or `TUMBLE_CONFIG`): the server's options in a TOML file, one
//! key per long option (`port = 8081`, `mqtt-id = "washer-3"`, `no-auth = false`,
//! `allow-origin = ["http://a", "http://b"]`), for a service file or a container. The command
//! line beats the environment, which beats the file: a key is used only when its option is
//! neither given nor set by its environment variable. The file's keys become command-line
//! arguments before clap reads them, so they are checked exactly as typed options are.

use std::ffi::OsString;

use clap::{ArgAction, CommandFactory};

/// `args` with the options of a `serve` command's `--config` file added; an error names the
/// file and the key at fault.
pub fn expand<C: CommandFactory>(args: Vec<OsString>) -> Result<Vec<OsString>, String> {
    // The subcommand: the first argument that is not an option.
    let first = args
        .iter()
        .skip(1)
        .position(|a| !a.to_string_lossy().starts_with('-'))
        .map(|i| i + 1);
    let Some(at) = first.filter(|&i| args[i] == "serve") else {
        return Ok(args);
    };
    let given = |long: &str| {
        args[at + 1..].iter().any(|a| {
            let a = a.to_string_lossy();
            a == format!("--{long}") || a.starts_with(&format!("--{long}="))
        })
    };
    let path = match value_of(&args[at + 1..], "config") {
        Some(p) => p,
        None => match std::env::var_os("TUMBLE_CONFIG") {
            Some(p) => p,
            None => return Ok(args),
        },
    };
    let shown = path.to_string_lossy().into_owned();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("--config {shown}: {e}"))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("--config {shown}: {}", e.message()))?;
    let cmd = C::command();
    let serve = cmd
        .find_subcommand("serve")
        .ok_or("no serve command")?
        .clone();
    let mut extra = Vec::new();
    for (key, value) in &table {
        let Some(arg) = serve
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()) && key != "config")
        else {
            return Err(format!(
                "--config {shown}: {key}: not an option of tumble serve (see tumble serve --help)"
            ));
        };
        let set_by_env = arg.get_env().is_some_and(|e| std::env::var_os(e).is_some());
        if given(key) || set_by_env {
            continue;
        }
        let flag = matches!(arg.get_action(), ArgAction::SetTrue);
        match (value, flag) {
            (toml::Value::Boolean(true), true) => extra.push(format!("--{key}").into()),
            (toml::Value::Boolean(false), true) => {}
            (_, true) => return Err(format!("--config {shown}: {key}: expected true or false")),
            (toml::Value::Array(items), false) => {
                for item in items {
                    extra.push(format!("--{key}={}", scalar(item, &shown, key)?).into());
                }
            }
            (v, false) => extra.push(format!("--{key}={}", scalar(v, &shown, key)?).into()),
        }
    }
    let mut out = args;
    out.extend(extra);
    Ok(out)
}

/// The value of `--NAME V` or `--NAME=V` among `args`.
fn value_of(args: &[OsString], name: &str) -> Option<OsString> {
    let flag = format!("--{name}");
    let eq = format!("--{name}=");
    args.iter().enumerate().find_map(|(i, a)| {
        let s = a.to_string_lossy();
        if s == flag {
            args.get(i + 1).cloned()
        } else {
            s.strip_prefix(&eq).map(OsString::from)
        }
    })
}

fn scalar(v: &toml::Value, shown: &str, key: &str) -> Result<String, String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(format!(
            "--config {shown}: {key}: expected a string, a number or a list of them"
        )),
    }
}
