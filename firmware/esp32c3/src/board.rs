//! The board this firmware drives: the profile build.rs read (`TUMBLE_BOARD=FILE`, else the
//! host's default profile) and checked, as tumble-core's `Board`.

use tumble_core::board::Board;
use tumble_core::sensor::PressureCurve;
use tumble_fw_logic::board::{Profile, Row};

include!(concat!(env!("OUT_DIR"), "/profile.rs"));

/// The profile's board. build.rs refused the build if it were not valid, so this cannot fail.
pub fn board() -> Board {
    PROFILE.board().expect("build.rs checked the board profile")
}
