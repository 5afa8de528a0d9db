//! The run history on the chip: each run, put together from the phase notices by the
//! telemetry task (tumble-core's `history::Recorder`), is written down as tumble-core's
//! `history::write_run` JSON in a sealed record at the end of the `history` partition's queue,
//! whose oldest runs are erased to make room. There is no wall clock here: a run's
//! `started_unix_s` is null; its water is the valves' ON time times the board profile's
//! `inflow_lpm`.
//!
//! Flash stalls interrupts, so it is touched with the loader held (no cycle can start) and only
//! while no cycle runs: a run is written as its cycle ends, `get_history` is answered while
//! nothing runs.

use tumble_core::board::Board;
use tumble_core::history::{self, Context, Run};
use tumble_core::library::Name;
use tumble_core::protocol::HistoryRequest;
use tumble_fw_logic::record::{self, HEADER_LEN, Kind};
use tumble_fw_logic::writer::Overflowing;

use crate::config::RUN_MAX;
use crate::log::{info, warning};
use crate::shared::{Loader, Shared};

/// Writes `run` down (in thread mode, after its cycle ended).
pub async fn keep(shared: &Shared, run: &Run, program: Option<&Name>) {
    let mut l = shared.loader.lock().await;
    if !shared.idle().await {
        warning!(
            "history",
            "a cycle started before the last run was written down: that run is not kept"
        );
        return;
    }
    write_down(&mut l, &shared.board, run, program);
}

/// The record, formatted in a buffer on the stack of this call only (not in the telemetry
/// task's future), and stored.
#[inline(never)]
fn write_down(l: &mut Loader, board: &Board, run: &Run, program: Option<&Name>) {
    let mut buf = [0u8; HEADER_LEN + RUN_MAX];
    let inflow = crate::board::PROFILE.inflow_lpm();
    let cx = Context {
        started_unix_s: None,
        program: program.map(Name::as_str),
        inflow_lpm: Some(&inflow),
    };
    let mut w = Overflowing::new(&mut buf[HEADER_LEN..]);
    let _ = history::write_run(&mut w, run, board, &cx);
    if w.overflowed() {
        warning!(
            "history",
            "a run of {} phases takes more than {RUN_MAX} bytes: not kept",
            run.phases.len()
        );
        return;
    }
    let len = w.len();
    let Ok(rec) = record::seal_in_place(&mut buf, HEADER_LEN..HEADER_LEN + len, Kind::Run) else {
        return;
    };
    let Some(store) = l.store.as_mut() else {
        return;
    };
    match store.save_run(&buf[rec]) {
        Ok(true) => info!("history", "run written down ({len} bytes)"),
        Ok(false) => {}
        Err(e) => warning!("history", "cannot write the run down: {e:?}"),
    }
}

/// `get_history`: the newest runs first, as many as asked for and as fit in the reply, read
/// one at a time into `scratch`. Returns whether it was answered.
pub fn answer(
    l: &mut Loader,
    h: &HistoryRequest<'_>,
    scratch: &mut [u8],
    w: &mut Overflowing<'_>,
) -> bool {
    let failed = |w: &mut Overflowing<'_>| {
        let why = "cannot read the run history from flash";
        let _ = tumble_core::protocol::write_v2_error(w, h.id, "store_failed", why, "");
        false
    };
    let Some(store) = l.store.as_mut() else {
        return failed(w);
    };
    let mut count = 0usize;
    if store.runs(scratch, &mut |_| count += 1).is_err() {
        return failed(w);
    }
    // The reply's head and tail, and room for what a flash read cannot tell in advance.
    let mut room = w.capacity().saturating_sub(w.len() + 64);
    let Ok(mut reply) = history::Reply::start(w, h.id) else {
        return false;
    };
    for k in (0..count).rev().take(h.limit) {
        let (mut i, mut fitted) = (0usize, false);
        let walked = store.runs(scratch, &mut |run| {
            if i == k
                && run.len() < room
                && let Ok(text) = core::str::from_utf8(run)
                && reply.run(text).is_ok()
            {
                room -= run.len() + 1;
                fitted = true;
            }
            i += 1;
        });
        if walked.is_err() || !fitted {
            break;
        }
    }
    reply.end().is_ok()
}
