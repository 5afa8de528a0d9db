//! The telemetry frame every client receives (every 100 ms by default), in the original
//! firmware's shape plus the fields it left as TODO, and the same status for `get_status`.

use core::fmt::{self, Write};

use crate::json;
use crate::runner::{Fault, Runner, Status};

/// `{"type":"telemetry","packet_timestamp_ms":T,"gpio":[...],"sensors":{...},"cycle":{...}}`.
pub fn write_frame(w: &mut impl Write, runner: &Runner, now_us: u64) -> fmt::Result {
    write!(
        w,
        "{{\"type\":\"telemetry\",\"packet_timestamp_ms\":{},",
        now_us / 1000
    )?;
    write_fields(w, runner, now_us)?;
    w.write_char('}')
}

/// The status object of `get_status` and of v2 command results: the telemetry without its type.
pub fn write_status(w: &mut impl Write, runner: &Runner, now_us: u64) -> fmt::Result {
    w.write_char('{')?;
    write_fields(w, runner, now_us)?;
    w.write_char('}')
}

fn write_fields(w: &mut impl Write, runner: &Runner, now_us: u64) -> fmt::Result {
    let s = runner.snapshot(now_us);
    // Raw levels (0 = ON on an active-low board), in board order: the original's 7, 8, 5, 19,
    // 9, 18, 4, 10 on the default board.
    w.write_str("\"gpio\":[")?;
    for (i, (id, def)) in runner.board().outputs().enumerate() {
        if i > 0 {
            w.write_char(',')?;
        }
        write!(
            w,
            "{{\"pin\":{},\"state\":{},\"name\":",
            def.pin,
            runner.level(id).as_u8()
        )?;
        json::write_str(w, &def.name)?;
        write!(w, ",\"on\":{}}}", def.is_on(runner.level(id)))?;
    }
    let r = s.readings;
    write!(
        w,
        "],\"sensors\":{{\"rpm\":{:.1},\"pressure_freq\":{:.1},\"sensor_error\":{}}}",
        r.rpm.unwrap_or(0.0),
        r.pressure_hz.unwrap_or(0.0),
        r.rpm.is_none() || r.pressure_hz.is_none()
    )?;
    let status = match s.status {
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
    let name = match s.phase_index {
        0 => "N/A",
        _ => s.phase_label,
    };
    json::write_str(w, name)?;
    write!(
        w,
        ",\"total_phases\":{},\"phase_elapsed_ms\":{},\"phase_total_duration_ms\":{},\"cycle_elapsed_ms\":{},\"cycle_total_duration_ms\":{},\"events_fired\":{},\"late_events\":{},\"worst_lateness_us\":{},\"fault\":",
        s.total_phases,
        s.phase_elapsed_ms,
        s.phase_total_ms,
        s.cycle_elapsed_ms,
        s.cycle_total_ms,
        s.stats.events_fired,
        s.stats.late_events,
        s.stats.worst_lateness_us
    )?;
    match s.fault {
        None => w.write_str("null")?,
        Some(fault) => write_fault(w, runner, fault)?,
    }
    w.write_str("}")
}

/// `{"code":"wait_timeout","phase":0,"message":"..."}`.
pub fn write_fault(w: &mut impl Write, runner: &Runner, fault: Fault) -> fmt::Result {
    match fault {
        Fault::WaitTimeout { phase } => {
            let cycle = runner.cycle();
            let label = cycle
                .phases()
                .get(phase as usize)
                .map_or("?", |p| cycle.phase_label(p));
            write!(
                w,
                "{{\"code\":\"wait_timeout\",\"phase\":{phase},\"message\":{}}}",
                json::Quoted(format_args!(
                    "phase '{label}' ({}/{}): its sensor condition did not hold before the timeout",
                    phase + 1,
                    cycle.phases().len()
                ))
            )
        }
    }
}
