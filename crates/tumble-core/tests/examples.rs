//! Every shipped example is accepted with its documented event counts, and every broken
//! example is refused at the path and with the words its manifest names.

use std::path::PathBuf;

use tumble_core::board::Board;
use tumble_core::cycle::Cycle;

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/cycles")
}

fn parse(
    name: &str,
) -> (
    Cycle<'static>,
    Result<tumble_core::cycle::Report, tumble_core::cycle::CycleError>,
) {
    let bytes = std::fs::read(examples().join(name)).unwrap();
    let mut cycle = Cycle::new(tumble_rig::storage());
    let r = cycle.parse(&bytes, &Board::washer());
    (cycle, r)
}

#[test]
fn valid_examples_expand_to_their_documented_counts() {
    let expected: &[(&str, &[u64], &[u32])] = &[
        ("original-example.json", &[182, 2], &[47_500, 6_000]),
        ("wash-1600.json", &[2, 1600, 2], &[120_000, 691_600, 60_000]),
        ("sensor-fill.json", &[2, 32, 2], &[120_000, 8_000, 30_000]),
        ("fill-wait.json", &[2, 2], &[180_000, 20_000]),
        ("million.json", &[1_000_004], &[33_333_400]),
        (
            "full-featured.json",
            &[8, 0, 40, 10],
            &[62_000, 30_000, 26_000, 41_000],
        ),
    ];
    for &(name, events, durations) in expected {
        let (cycle, report) = parse(name);
        report.unwrap_or_else(|e| panic!("{name}: {e}"));
        let got: Vec<u64> = cycle.phases().iter().map(|p| p.events()).collect();
        assert_eq!(got, events, "{name}");
        let got: Vec<u32> = cycle.phases().iter().map(|p| p.duration_ms()).collect();
        assert_eq!(got, durations, "{name}");
    }
}

#[test]
fn every_example_file_is_covered() {
    let names: Vec<String> = tumble_rig::example_files("cycles")
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        names,
        [
            "fill-wait.json",
            "full-featured.json",
            "million.json",
            "original-example.json",
            "rapid-pattern.json",
            "sensor-fill.json",
            "three-million.json",
            "wash-1600.json"
        ]
    );
}

#[test]
fn broken_examples_fail_at_their_path() {
    let dir = examples().join("broken");
    let manifest = std::fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let mut listed = 0;
    for line in manifest.lines() {
        let mut cols = line.split('\t');
        let (file, path, words) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap(),
        );
        let (cycle, result) = parse(&format!("broken/{file}"));
        let err = result.expect_err(file);
        assert_eq!(err.path.as_str(), path, "{file}: {err}");
        assert!(
            err.message
                .as_str()
                .to_lowercase()
                .contains(&words.to_lowercase()),
            "{file}: {err:?} should mention {words:?}"
        );
        assert!(
            cycle.phases().is_empty(),
            "{file}: a refused document leaves nothing"
        );
        listed += 1;
    }
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(listed, files, "every broken file is in EXPECTED.tsv");
}
