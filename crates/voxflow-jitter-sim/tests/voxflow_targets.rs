//! voxflow's jitter buffer on the six shared traces with real Opus packets of 60 s of speech:
//! the targets, and the figures the jitter-buffer README quotes (measured 2026-12-04),
//! asserted with a small margin so a regression fails. With the `neteq` feature, NetEq runs on
//! the same packets and clock and the ratios are checked too.
//!
//! Release only (the 60 s encode and six replays take minutes unoptimised): CI runs
//! `cargo test --release -p voxflow-jitter-sim --features neteq --test voxflow_targets`.
#![allow(clippy::unwrap_used)]

use voxflow_jitter_sim::buffers::BufferSpec;
use voxflow_jitter_sim::metrics::Metrics;
use voxflow_jitter_sim::trace::Trace;
use voxflow_jitter_sim::{packets_for, simulate};

/// (trace, voxflow mean delay after 5 s in ms, voxflow concealed %) as the README quotes them.
const QUOTED: [(&str, f64, f64); 6] = [
    ("lan", 10.0, 0.00),
    ("wifi", 50.7, 1.27),
    ("mobile", 100.0, 2.77),
    ("spike", 48.7, 1.37),
    ("drift", 6.1, 0.63),
    ("harsh", 130.2, 8.53),
];

fn run(trace: &Trace, packets: &voxflow_jitter_sim::PacketSet, spec: BufferSpec) -> Metrics {
    simulate(trace, packets, &[spec], false)
        .unwrap()
        .remove(0)
        .0
}

#[test]
fn voxflow_meets_the_quoted_figures_on_every_trace() {
    if cfg!(debug_assertions) {
        eprintln!("skipped in a debug build (minutes unoptimised): run with --release, as CI does");
        return;
    }
    let Some(net) = voxflow_testkit::data::shared_data("net") else {
        return;
    };
    let Some(speech) = voxflow_testkit::data::shared_data("media/speech_44k1_stereo.flac") else {
        return;
    };
    let audio = voxflow_jitter_sim::packets::load_audio_file(&speech).unwrap();
    let mut packets = None;
    for (name, delay, concealed) in QUOTED {
        let trace = Trace::read(&net.join(format!("{name}.csv"))).unwrap();
        let packets = packets.get_or_insert_with(|| packets_for(&trace, &audio).unwrap());
        let v = run(&trace, packets, BufferSpec::Voxflow);
        let d = v.mean_delay_after_5s_ms.unwrap();
        let c = v.concealed_pct.unwrap();
        println!("{name:7} voxflow: delay after 5 s {d:6.1} ms, concealed {c:5.2} %");
        assert_eq!(
            (v.out_of_order_played, v.duplicates_played),
            (0, 0),
            "{name}"
        );
        assert!(v.first_audio_ms.unwrap() <= 40.0, "{name}: first audio");
        assert!(
            d <= delay * 1.03 + 0.5,
            "{name}: delay {d:.1} ms, quoted {delay}"
        );
        assert!(
            c <= concealed + 0.2,
            "{name}: concealed {c:.2} %, quoted {concealed}"
        );
        assert!(
            v.wait_growth_ms.unwrap_or(0.0) <= 40.0,
            "{name}: the wait grows"
        );
        if name == "spike" {
            assert_eq!(v.spikes.len(), 2);
            for s in &v.spikes {
                assert!(s.recovery_ms.unwrap() <= 2_000.0, "spike recovery {s:?}");
            }
        }
        #[cfg(feature = "neteq")]
        {
            let n = run(&trace, packets, BufferSpec::Neteq);
            let nd = n.mean_delay_after_5s_ms.unwrap();
            let nc = n.concealed_pct.unwrap();
            let ratio = d / nd;
            println!(
                "{name:7} neteq:   delay after 5 s {nd:6.1} ms, concealed {nc:5.2} %, ratio {ratio:.3}"
            );
            // The README's table: met on lan, wifi and drift; the three misses within the
            // margins it states (mobile 0.3 ms over 0.9 ×, spike 0.03 points more concealed,
            // harsh 2 ms over 0.9 × with less concealment).
            let (max_ratio, max_extra_concealed) = match name {
                "mobile" => (0.91, 0.0),
                "spike" => (0.9, 0.05),
                "harsh" => (0.92, 0.0),
                _ => (0.9, 0.0),
            };
            assert!(ratio <= max_ratio, "{name}: delay ratio {ratio:.3}");
            assert!(
                c <= nc + max_extra_concealed,
                "{name}: concealed {c:.2} % vs neteq {nc:.2} %"
            );
        }
    }
}
