//! The telemetry frame every client receives (every 100 ms by default), in the original
//! firmware's shape plus the fields it left as TODO, and the same status for `get_status`.
//!
//! Both are written from a [`Snapshot`], an owned copy of the runner's state: the controller
//! takes it, and the formatting happens wherever the platform likes, never holding the runner.

use core::fmt::{self, Write};

use crate::board::Board;
use crate::json::{Fixed, Object, Text};
use crate::runner::{Fault, Snapshot, Status};

/// `{"type":"telemetry","packet_timestamp_ms":T,"gpio":[...],"sensors":{...},"cycle":{...}}`.
pub fn write_frame(w: &mut impl Write, board: &Board, s: &Snapshot) -> fmt::Result {
    let mut o = Object::open(w)?;
    o.field("type", "telemetry")?
        .field("packet_timestamp_ms", s.at.as_millis())?;
    write_fields(&mut o, board, s)?;
    o.close()
}

/// The status object of `get_status` and of v2 command results: the telemetry without its type.
pub fn write_status(w: &mut impl Write, board: &Board, s: &Snapshot) -> fmt::Result {
    let mut o = Object::open(w)?;
    write_fields(&mut o, board, s)?;
    o.close()
}

fn write_fields<W: Write>(o: &mut Object<W>, board: &Board, s: &Snapshot) -> fmt::Result {
    // Raw levels (0 = ON on an active-low board), in board order: the original's 7, 8, 5, 19,
    // 9, 18, 4, 10 on the default board.
    let mut gpio = o.array("gpio")?;
    for (id, def) in board.outputs() {
        let level = s.levels[id.index()];
        let mut pin = gpio.object()?;
        pin.field("pin", def.pin)?
            .field("state", level.as_u8())?
            .field("name", def.name.as_str())?
            .field("on", def.is_on(level))?;
        pin.close()?;
    }
    gpio.close()?;
    let r = s.readings;
    let mut sensors = o.object("sensors")?;
    sensors
        .field("rpm", Fixed(r.rpm.unwrap_or(0.0).into(), 1))?
        .field(
            "pressure_freq",
            Fixed(r.pressure_hz.unwrap_or(0.0).into(), 1),
        )?
        .field("sensor_error", r.rpm.is_none() || r.pressure_hz.is_none())?
        // Litres, where the board says how a reading reads as water.
        .field(
            "level_litres",
            board
                .level()
                .zip(r.pressure_hz)
                .map(|(level, hz)| Fixed(level.litres(hz).into(), 1)),
        )?;
    sensors.close()?;
    write_cycle(o.object("cycle")?, s)
}

fn write_cycle<W: Write>(mut o: Object<W>, s: &Snapshot) -> fmt::Result {
    let status = match s.status {
        Status::Idle if s.start_in.is_some() => "scheduled",
        Status::Idle => "idle",
        Status::Running => "running",
        Status::Paused => "paused",
    };
    // The original's field, as it was: the phase id (else its name, else "Unknown"); the
    // title is for people: its name, else its id.
    let (name, title) = match s.phase_index {
        0 => ("N/A", "N/A"),
        _ if !s.phase_id.is_empty() => (s.phase_id.as_str(), s.phase_label.as_str()),
        _ => (s.phase_label.as_str(), s.phase_label.as_str()),
    };
    o.field("cycle_running", s.status != Status::Idle)?
        .field("paused", s.status == Status::Paused)?
        .field("status", status)?
        .field("current_phase_index", s.phase_index)?
        .field("current_phase_name", name)?
        .field("current_phase_title", title)?
        .field("total_phases", s.total_phases)?
        .field("phase_elapsed_ms", s.phase_elapsed.as_millis())?
        .field("phase_total_duration_ms", s.phase_total.as_millis())?
        .field("cycle_elapsed_ms", s.cycle_elapsed.as_millis())?
        .field("cycle_total_duration_ms", s.cycle_total.as_millis())?
        .field("events_fired", s.stats.events_fired)?
        .field("late_events", s.stats.late_events)?
        .field("worst_lateness_us", s.stats.worst_lateness.as_micros())?;
    match s.fault {
        None => o.field("fault", None::<u8>)?,
        Some(Fault::WaitTimeout { phase }) => {
            let mut fault = o.object("fault")?;
            let message = format_args!(
                "phase '{}' ({}/{}): its sensor condition did not hold before the timeout",
                s.fault_label,
                phase + 1,
                s.total_phases
            );
            fault
                .field("code", "wait_timeout")?
                .field("phase", phase)?
                .field("message", Text(message))?;
            fault.close()?;
            &mut o
        }
    };
    // Rounded up: a start due in 0.3 ms is not "due in 0 ms".
    o.field(
        "start_in_ms",
        s.start_in.map(|d| d.as_micros().div_ceil(1000)),
    )?;
    match s.last_phase_end {
        Some((phase, end)) => {
            let mut last = o.object("last_phase_end")?;
            last.field("phase", phase)?.field("end", end.word())?;
            last.close()?;
        }
        None => {
            o.field("last_phase_end", None::<u8>)?;
        }
    }
    o.close()
}
