//! The fixed-delay buffer and the metrics on a tiny trace whose answers are worked out by hand,
//! and on the real `lan` trace.

use voxflow_jitter_sim::buffers::{BufferSpec, FrameClass};
use voxflow_jitter_sim::packets::{PULL_FRAMES, encode_packets};
use voxflow_jitter_sim::trace::Trace;
use voxflow_jitter_sim::{packets_for, replay, simulate};

/// 48 kHz mono test audio: a 220 Hz tone with a slow vibrato, 1 s.
fn tone() -> Vec<f32> {
    (0..48_000)
        .map(|i| {
            let t = i as f32 / 48_000.0;
            0.3 * (2.0 * std::f32::consts::PI * (220.0 * t + 3.0 * (2.0 * t).sin())).sin()
        })
        .collect()
}

/// Ten 20 ms packets, 3 ms of network delay, except: seq 3 lost; seq 4 arrives after seq 5
/// (still in time); seq 6 arrives 100 ms after sending (late for a 40 ms buffer); seq 8 arrives
/// twice.
const TINY: &str = "seq,send_ms,arrival_ms
0,0,3
1,20,23
2,40,43
3,60,
4,80,110
5,100,103
6,120,220
7,140,143
8,160,163
8,160,170
9,180,183
";

#[test]
fn fixed_40_on_a_tiny_trace_gives_the_hand_worked_answers() {
    let trace = Trace::parse("tiny", TINY).unwrap();
    let packets = encode_packets(&tone(), 10).unwrap();
    assert_eq!(packets.payloads.len(), 10);
    assert_eq!(packets.reference.len(), 10 * 960);
    let mut runs = simulate(&trace, &packets, &[BufferSpec::Fixed(40)], true).unwrap();
    let (m, rec) = runs.remove(0);

    // First arrival 3 ms; + 40 ms = 43 ms, rounded to the nearest pull: playout starts at the
    // pull at 40 ms. Packet s is decoded at the pull at 40 + 20 s ms, so every delay is
    // 40 + 20 s − 20 s = 40 ms.
    let want: Vec<(u64, f64)> = [0u64, 1, 2, 4, 5, 7, 8, 9]
        .iter()
        .map(|&s| (s, 40.0 + 20.0 * s as f64))
        .collect();
    assert_eq!(rec.decodes, want);
    assert_eq!(m.played, 8);
    assert_eq!(m.mean_delay_ms, Some(40.0));
    assert_eq!(m.p95_delay_ms, Some(40.0));
    assert_eq!(m.mean_delay_after_5s_ms, None);
    // Pulls at 10, 20, 30 ms are idle; seq 3 (pulls 100, 110) and seq 6 (160, 170) concealed;
    // real audio from the pull at 40 to the one at 230 (seq 9's second half): 20 frames.
    assert_eq!(&rec.frames[..3], &[FrameClass::Idle; 3]);
    let concealed: Vec<usize> = rec
        .frames
        .iter()
        .enumerate()
        .filter(|(i, c)| **c == FrameClass::Concealed && *i < 23)
        .map(|(i, _)| (i + 1) * 10)
        .collect();
    assert_eq!(concealed, vec![100, 110, 160, 170]);
    assert_eq!(m.span_frames, 20);
    assert_eq!(m.concealed_frames, 4);
    assert_eq!(m.concealed_pct, Some(20.0));
    // Seq 6 arrived (at 220 ms) after its pull (160 ms): late. Seq 8's duplicate is not a drop
    // of an unplayed packet.
    assert_eq!(m.late_dropped, 1);
    assert_eq!(m.out_of_order_played, 0);
    assert_eq!(m.duplicates_played, 0);
    assert_eq!(m.lost, 1);
    assert_eq!(m.first_audio_ms, Some(37.0));
    // No 100 ms of uninterrupted real audio: 6 frames, a loss, 4 frames, a loss, 6 frames.
    assert_eq!(m.first_sustained_audio_ms, None);
    assert_eq!(m.concealed_pct_sustained, None);
    assert_eq!(m.shared_payload_packets, 0);
    assert_eq!(m.unknown_decodes, 0);
    assert_eq!(m.accelerate_ms, Some(0.0));
    assert_eq!(m.stats["packetsLate"], 1);
    assert_eq!(m.stats["packetsDuplicated"], 1);
    assert_eq!(m.stats["packetsReceived"], 10);
    // The run goes to 2 s after the last arrival (220 ms): pulls up to 2220 ms.
    assert_eq!(rec.frames.len(), 222);
    assert_eq!(rec.audio.len(), 222 * PULL_FRAMES);
    // The played audio of seq 0 is the reference decode of seq 0 (a fresh decoder, in order).
    assert_eq!(
        &rec.audio[3 * PULL_FRAMES..5 * PULL_FRAMES],
        &packets.reference[..960]
    );
    assert!(m.spikes.is_empty());
}

#[test]
fn a_delay_spike_is_found_and_the_recovery_measured() {
    // 200 packets at 3 ms network delay; packets 100..=104 delayed by 300 ms more (a spike,
    // late for fixed:100, dropped), the rest back to normal at once.
    let mut text = String::from("seq,send_ms,arrival_ms\n");
    for s in 0..200u64 {
        let send = s as f64 * 20.0;
        let extra = if (100..=104).contains(&s) {
            300.0 - (s - 100) as f64 * 20.0
        } else {
            0.0
        };
        text.push_str(&format!("{s},{send},{}\n", send + 3.0 + extra));
    }
    let trace = Trace::parse("spiky", &text).unwrap();
    let packets = packets_for(&trace, &tone()).unwrap();
    let (m, _) = simulate(&trace, &packets, &[BufferSpec::Fixed(100)], false)
        .unwrap()
        .remove(0);
    assert_eq!(m.spikes.len(), 1, "{:?}", m.spikes);
    let sp = &m.spikes[0];
    assert_eq!(sp.at_ms, 2000.0);
    assert_eq!(sp.jump_ms, 300.0);
    assert_eq!(sp.pre_delay_ms, Some(100.0));
    // Packets 100..=104 arrive after their playout (dropped); 105 plays at the usual 100 ms.
    assert_eq!(m.late_dropped, 5);
    assert_eq!(sp.recovery_ms, Some(100.0));
    // Only 4 s of sends: no 5–10 s window.
    assert_eq!(m.drift_growth_ms, None);
}

#[test]
fn fixed_40_on_lan_conceals_nothing() {
    let Some(path) = voxflow_testkit::data::shared_data("net/lan.csv") else {
        return;
    };
    let trace = Trace::read(&path).unwrap();
    let packets = packets_for(&trace, &tone()).unwrap();
    let mut buf = BufferSpec::Fixed(40).build(&packets).unwrap();
    let rec = replay(&trace, &packets, buf.as_mut(), false).unwrap();
    let m = voxflow_jitter_sim::compute(&trace, &rec);
    assert_eq!(m.played, 3000);
    assert_eq!(m.concealed_frames, 0);
    assert_eq!(m.late_dropped, 0);
    assert_eq!(m.out_of_order_played, 0);
    // 40 ms of buffer + 1.6 ms of network, on a 10 ms device clock: 40 ms.
    let mean = m.mean_delay_ms.unwrap();
    assert!((40.0..=50.0).contains(&mean), "mean delay {mean}");
    assert_eq!(m.p95_delay_ms, Some(40.0));
    let first = m.first_audio_ms.unwrap();
    assert!((35.0..=45.0).contains(&first), "first audio {first}");
}
