//! The lazily merged timeline equals a naive materialise-and-sort reference.

mod common;

use proptest::prelude::*;
use tumble_core::board::Board;
use tumble_core::cycle::{Cycle, MAX_STORAGE};
use tumble_core::time::Duration;
use tumble_core::timeline::Timeline;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn merged_stream_equals_the_reference(g in common::cycle()) {
        let board = Board::washer();
        let mut storage = vec![0u8; MAX_STORAGE];
        let mut cycle = Cycle::new(&mut storage);
        cycle.parse(g.to_json().as_bytes(), &board).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (gp, p) in g.phases.iter().zip(cycle.phases()) {
            let got: Vec<_> = Timeline::new(&cycle, p)
                .map(|e| (e.at.as_micros(), board.output(e.output).name.as_str().to_owned(), e.on))
                .collect();
            let want: Vec<_> = gp.reference_events(board.reverse_dead_time_ms()).into_iter()
                .map(|(t, o, on)| (t, o.to_owned(), on))
                .collect();
            prop_assert_eq!(&got, &want);
            prop_assert!(got.windows(2).all(|w| w[0].0 <= w[1].0), "time never goes backwards");
            prop_assert_eq!(p.events(), want.len() as u64);
            prop_assert_eq!(p.duration_ms() as u64 * 1000, gp.reference_duration_us(board.reverse_dead_time_ms()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn starting_at_a_time_skips_exactly_the_earlier_events(g in common::cycle(), from_ms in 0u64..400, extra_us in 0u64..1000) {
        let board = Board::washer();
        let mut storage = vec![0u8; MAX_STORAGE];
        let mut cycle = Cycle::new(&mut storage);
        cycle.parse(g.to_json().as_bytes(), &board).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let from = Duration::from_micros(from_ms * 1000 + extra_us);
        for p in cycle.phases() {
            let want: Vec<_> = Timeline::new(&cycle, p).filter(|e| e.at >= from).collect();
            let got: Vec<_> = Timeline::starting_at(&cycle, p, from).collect();
            prop_assert_eq!(got, want);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_canonical_document_reads_back_to_the_same_cycle(g in common::cycle()) {
        let board = Board::washer();
        let (mut a, mut b) = (vec![0u8; MAX_STORAGE], vec![0u8; MAX_STORAGE]);
        let mut first = Cycle::new(&mut a);
        first.parse(g.to_json().as_bytes(), &board).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut doc = String::new();
        first.write_json(&board, &mut doc).unwrap();
        let mut second = Cycle::new(&mut b);
        let report = second.parse(doc.as_bytes(), &board).map_err(|e| TestCaseError::fail(format!("{e}\n{doc}")))?;
        prop_assert!(report.warnings.iter().all(|w| !w.message.as_str().contains("key")), "{:?}", report);
        let mut again = String::new();
        second.write_json(&board, &mut again).unwrap();
        prop_assert_eq!(&doc, &again);
        for (a, b) in first.phases().iter().zip(second.phases()) {
            prop_assert!(Timeline::new(&first, a).eq(Timeline::new(&second, b)));
            prop_assert_eq!(a.trigger, b.trigger);
        }
    }
}

#[test]
fn original_example_starts_like_the_original_firmware() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/cycles/original-example.json"
    ))
    .unwrap();
    let board = Board::washer();
    let mut cycle = Cycle::new(tumble_rig::storage());
    cycle.parse(&bytes, &board).unwrap();
    let first: Vec<(u64, u8, u8)> = Timeline::new(&cycle, &cycle.phases()[0])
        .take(8)
        .map(|e| {
            let def = board.output(e.output);
            (e.at.as_millis(), def.pin, def.level(e.on).as_u8())
        })
        .collect();
    // Motor direction cw (level 0), motor ON, retractor ON at 0; motor OFF at 300;
    // direction ccw (1) and motor ON at 800; motor OFF at 1100; then cw again at 1600.
    assert_eq!(
        first,
        [
            (0, 10, 0),
            (0, 7, 0),
            (0, 4, 0),
            (300, 4, 1),
            (800, 10, 1),
            (800, 4, 0),
            (1100, 4, 1),
            (1600, 10, 0)
        ]
    );
}

#[test]
fn seeking_keeps_a_pass_end_that_falls_on_the_next_pass_start() {
    // Found by the property test: with no final pause, pass 1's last OFF (95 ms) and pass 2's
    // start (95 ms) coincide; seeking to 95 ms must keep the OFF.
    let doc = r#"{"phases":[{"components":[{"compId":"Motor","start":48,"motorConfig":{"repeatTimes":2,"pattern":[
        {"stepTime":4,"pauseTime":17},{"stepTime":26,"pauseTime":0}]}}]}]}"#;
    let mut cycle = Cycle::new(tumble_rig::storage());
    cycle.parse(doc.as_bytes(), &Board::washer()).unwrap();
    let p = &cycle.phases()[0];
    let want: Vec<_> = Timeline::new(&cycle, p)
        .filter(|e| e.at >= Duration::from_micros(95_000))
        .collect();
    assert_eq!(want.len(), 7);
    assert!(Timeline::starting_at(&cycle, p, Duration::from_micros(95_000)).eq(want));
}
