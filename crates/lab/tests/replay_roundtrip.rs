//! Replay round trip: every lab scenario whose packets all arrive on
//! interfaces is written as a pcapng capture (interface names, capture
//! times), replayed, and the output capture must hold exactly what
//! `simulate` sends, byte for byte, on the same interfaces, in the same
//! order, each packet tagged with the input that caused it; the counters
//! and connection table must be `simulate`'s too.

use std::path::Path;

use palisade_capture::{PcapngWriter, Reader};
use palisade_lab::replay::{replay, scenario_capture, Options};
use palisade_lab::scenario::{scenario_files, Scenario, Via};
use palisade_lab::simulate::{arrival_times, build_engine, simulate, DEFAULT_SEED};
use palisade_rules::save::save;

/// The output packets of a replay: interface, comment (the input's
/// number), capture time, bytes.
type Written = Vec<(String, String, u64, Vec<u8>)>;

fn read_output(bytes: &[u8]) -> Written {
    let mut r = Reader::new(bytes).expect("output header");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet().expect("output packet") {
        out.push((
            p.interface.name.clone().expect("named interface"),
            p.comment.expect("comment").to_string(),
            p.timestamp.expect("timestamp"),
            p.data.to_vec(),
        ));
    }
    out
}

#[test]
fn replayed_scenarios_give_simulates_bytes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let (mut checked, mut local, mut shifted, mut answering) = (0, 0, 0, 0);
    for file in scenario_files(&dir).expect("scenarios") {
        let sc = Scenario::load(&file).expect("scenario");
        if sc.packets.iter().any(|p| p.via == Via::Local) {
            // A capture shows what arrived; a local process's packets
            // have no place in it.
            local += 1;
            continue;
        }
        if sc
            .packets
            .first()
            .and_then(|p| p.at)
            .is_some_and(|a| a > 0.0)
        {
            // Replay starts its clock at the first packet.
            shifted += 1;
            continue;
        }
        if sc
            .packets
            .iter()
            .any(|p| p.pkt.as_deref().is_some_and(|l| l.contains('{')))
        {
            // A packet answers what the host sent before it (a port Linux
            // chose at random): its bytes exist only once that is known.
            answering += 1;
            continue;
        }
        let name = file.display().to_string();
        let mut w = PcapngWriter::new(Vec::new(), "test").expect("writer");
        assert_eq!(scenario_capture(&sc, &mut w).expect("capture"), 0);
        let capture = w.into_inner();

        let mut engine = build_engine(&sc, DEFAULT_SEED).expect("engine");
        let mut reader = Reader::new(capture.as_slice()).expect("reader");
        let mut out = PcapngWriter::new(Vec::new(), "test").expect("writer");
        let (summary, result) = replay(
            &mut engine,
            &mut reader,
            Some(&mut out),
            &Options::default(),
            &mut |_, _| {},
        );
        result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(summary.replayed as usize, sc.packets.len(), "{name}");
        let written = read_output(&out.into_inner());

        let want = simulate(&sc, DEFAULT_SEED).expect("simulate");
        let times = arrival_times(&sc);
        let first = times.first().copied().unwrap_or_default();
        let expected: Written = want
            .outputs
            .iter()
            .enumerate()
            .flat_map(|(i, outs)| {
                let ts = palisade_lab::replay::SCENARIO_EPOCH + (times[i] - first).0;
                outs.iter().map(move |o| {
                    let bytes = palisade_lab::hex::decode(&o.hex).expect("hex");
                    (o.out.clone(), format!("packet {}", i + 1), ts, bytes)
                })
            })
            .collect();
        assert_eq!(written, expected, "{name}: output packets");
        assert_eq!(
            save(&engine.ruleset(), None, true, None),
            want.save,
            "{name}: counters"
        );
        let end = *times.last().expect("packets") + palisade_engine::Time(30_000_000);
        assert_eq!(
            engine.conntrack_listing(end),
            want.conntrack,
            "{name}: connections"
        );
        let total: u64 = summary.written.iter().sum();
        assert_eq!(total as usize, expected.len(), "{name}: summary");
        checked += 1;
    }
    println!(
        "replay round trip: {checked} scenarios byte-identical to simulate; \
         {local} left out (packets from a local process), {shifted} (first packet later than 0), \
         {answering} (packets answering the host's random choices)"
    );
    assert!(checked > 100, "only {checked} scenarios checked");
}
