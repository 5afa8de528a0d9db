//! The telemetry frame every client receives (every 100 ms by default), in the original
//! firmware's shape plus the fields it left as TODO, and the same status for `get_status`.
//!
//! Both are written from a [`Snapshot`], an owned copy of the runner's state: the controller
//! takes it, and the formatting happens wherever the platform likes, never holding the runner.

use core::fmt::{self, Write};

use crate::board::Board;
use crate::json;
use crate::runner::{Fault, Snapshot, Status};

/// `{"type":"telemetry","packet_timestamp_ms":T,"gpio":[...],"sensors":{...},"cycle":{...}}`.
pub fn write_frame(w: &mut impl Write, board: &Board, s: &Snapshot) -> fmt::Result {
    write!(
        w,
        "{{\"type\":\"telemetry\",\"packet_timestamp_ms\":{},",
        s.at.as_millis()
    )?;
    write_fields(w, board, s)?;
    w.write_char('}')
}

/// The status object of `get_status` and of v2 command results: the telemetry without its type.
pub fn write_status(w: &mut impl Write, board: &Board, s: &Snapshot) -> fmt::Result {
    w.write_char('{')?;
    write_fields(w, board, s)?;
    w.write_char('}')
}

fn write_fields(w: &mut impl Write, board: &Board, s: &Snapshot) -> fmt::Result {
    // Raw levels (0 = ON on an active-low board), in board order: the original's 7, 8, 5, 19,
    // 9, 18, 4, 10 on the default board.
    w.write_str("\"gpio\":[")?;
    for (i, (id, def)) in board.outputs().enumerate() {
        if i > 0 {
            w.write_char(',')?;
        }
        let level = s.levels[id.index()];
        write!(
            w,
            "{{\"pin\":{},\"state\":{},\"name\":",
            def.pin,
            level.as_u8()
        )?;
        json::write_str(w, &def.name)?;
        write!(w, ",\"on\":{}}}", def.is_on(level))?;
    }
    let r = s.readings;
    write!(
        w,
        "],\"sensors\":{{\"rpm\":{:.1},\"pressure_freq\":{:.1},\"sensor_error\":{},\"level_litres\":",
        r.rpm.unwrap_or(0.0),
        r.pressure_hz.unwrap_or(0.0),
        r.rpm.is_none() || r.pressure_hz.is_none()
    )?;
    // Litres, where the board says how a reading reads as water.
    match (board.level(), r.pressure_hz) {
        (Some(level), Some(hz)) => write!(w, "{:.1}}}", level.litres(hz))?,
        _ => w.write_str("null}")?,
    }
    let status = match s.status {
        Status::Idle if s.start_in.is_some() => "scheduled",
        Status::Idle => "idle",
        Status::Running => "running",
        Status::Paused => "paused",
    };
    write!(
        w,
        ",\"cycle\":{{\"cycle_running\":{},\"paused\":{},\"status\":\"{status}\",\"current_phase_index\":{},\"current_phase_name\":",
        s.status != Status::Idle,
        s.status == Status::Paused,
        s.phase_index
    )?;
    // The original's field, as it was: the phase id (else its name, else "Unknown").
    let (name, title) = match s.phase_index {
        0 => ("N/A", "N/A"),
        _ if !s.phase_id.is_empty() => (s.phase_id.as_str(), s.phase_label.as_str()),
        _ => (s.phase_label.as_str(), s.phase_label.as_str()),
    };
    json::write_str(w, name)?;
    // For people: its name, else its id.
    w.write_str(",\"current_phase_title\":")?;
    json::write_str(w, title)?;
    write!(
        w,
        ",\"total_phases\":{},\"phase_elapsed_ms\":{},\"phase_total_duration_ms\":{},\"cycle_elapsed_ms\":{},\"cycle_total_duration_ms\":{},\"events_fired\":{},\"late_events\":{},\"worst_lateness_us\":{},\"fault\":",
        s.total_phases,
        s.phase_elapsed.as_millis(),
        s.phase_total.as_millis(),
        s.cycle_elapsed.as_millis(),
        s.cycle_total.as_millis(),
        s.stats.events_fired,
        s.stats.late_events,
        s.stats.worst_lateness.as_micros()
    )?;
    match s.fault {
        None => w.write_str("null")?,
        Some(fault) => write_fault(w, s, fault)?,
    }
    match s.start_in {
        // Rounded up: a start due in 0.3 ms is not "due in 0 ms".
        Some(d) => write!(w, ",\"start_in_ms\":{}", d.as_micros().div_ceil(1000))?,
        None => w.write_str(",\"start_in_ms\":null")?,
    }
    match s.last_phase_end {
        Some((phase, end)) => write!(
            w,
            ",\"last_phase_end\":{{\"phase\":{phase},\"end\":\"{}\"}}}}",
            end.word()
        ),
        None => w.write_str(",\"last_phase_end\":null}"),
    }
}

/// `{"code":"wait_timeout","phase":0,"message":"..."}`.
fn write_fault(w: &mut impl Write, s: &Snapshot, fault: Fault) -> fmt::Result {
    match fault {
        Fault::WaitTimeout { phase } => write!(
            w,
            "{{\"code\":\"wait_timeout\",\"phase\":{phase},\"message\":{}}}",
            json::Quoted(format_args!(
                "phase '{}' ({}/{}): its sensor condition did not hold before the timeout",
                s.fault_label,
                phase + 1,
                s.total_phases
            ))
        ),
    }
}
