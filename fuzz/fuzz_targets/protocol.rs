//! Any frame, in any state: `Controller::handle_frame` never panics, always replies, and a frame it
//! says was loaded is stored whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tumble_core::board::Board;
use tumble_core::cycle::Cycle;
use tumble_core::controller::{Arrival, Config, Controller};
use tumble_core::runner::{OutputChange, Outputs};
use tumble_core::time::{Duration, Instant};

struct Pins;

impl Outputs for Pins {
    fn set(&mut self, _change: OutputChange) {}
}

fuzz_target!(|data: &[u8]| {
    let config = Config {
        sample: Duration::from_millis(100),
        telemetry: Some(Duration::from_millis(100)),
    };
    let mut storage = vec![0u8; 16 * 1024];
    let mut ctl = Box::new(Controller::new(Board::washer(), config, &mut storage));
    ctl.boot(Instant::from_micros(0), &mut Pins);
    // Two frames: the first may load a cycle or start one, the second meets that state.
    let cut = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (first, second) = data.split_at(cut);
    for (i, frame) in [first, second.get(1..).unwrap_or(&[])].into_iter().enumerate() {
        let now = Instant::from_micros(i as u64 * 1_000_000);
        let mut reply = String::new();
        let h = ctl
            .handle_frame(frame, Arrival(i as u64), now, &mut Pins, &mut reply)
            .expect("a String takes any reply");
        assert!(!reply.is_empty());
        if let Some(doc) = h.store {
            let mut room = vec![0u8; 16 * 1024];
            assert!(Cycle::new(&mut room).parse(doc, &Board::washer()).is_ok());
        }
    }
});
