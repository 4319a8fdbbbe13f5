//! The voxflow and (with the `neteq` feature) neteq adapters on the real `lan` trace: every
//! packet played once, in order, nothing concealed once playout is under way.

use voxflow_jitter_sim::buffers::BufferSpec;
use voxflow_jitter_sim::trace::Trace;
use voxflow_jitter_sim::{packets_for, simulate};

fn tone() -> Vec<f32> {
    (0..48_000)
        .map(|i| 0.3 * (2.0 * std::f32::consts::PI * 330.0 * i as f32 / 48_000.0).sin())
        .collect()
}

#[allow(clippy::unwrap_used)] // test helper: a bad lan.csv should fail the test loudly
fn lan() -> Option<Trace> {
    let path = voxflow_testkit::data::shared_data("net/lan.csv")?;
    Some(Trace::read(&path).unwrap())
}

#[test]
fn voxflow_plays_lan_in_order_without_concealment() {
    let Some(trace) = lan() else { return };
    let packets = packets_for(&trace, &tone()).unwrap();
    let (m, rec) = simulate(&trace, &packets, &[BufferSpec::Voxflow], false)
        .unwrap()
        .remove(0);
    assert_eq!(rec.buffer, "voxflow");
    assert_eq!(m.played, 3000);
    assert_eq!(m.out_of_order_played, 0);
    assert_eq!(m.duplicates_played, 0);
    assert_eq!(m.late_dropped, 0);
    assert_eq!(m.concealed_frames, 0);
    assert_eq!(m.stats["packetsReceived"], 3000);
}

/// neteq reads `web_time::Instant::now()`: on the virtual clock its start-up wait (≈ 520 ms
/// with its default configuration) shows in trace time. On the wall clock the whole replay
/// takes about a second and neteq would see every packet arrive at once.
#[cfg(feature = "neteq")]
#[test]
fn neteq_runs_on_the_virtual_clock() {
    let Some(trace) = lan() else { return };
    let Some(speech) = voxflow_testkit::data::shared_data("media/speech_44k1_stereo_10s.wav")
    else {
        return;
    };
    let audio = voxflow_jitter_sim::packets::load_audio_file(&speech).unwrap();
    let packets = packets_for(&trace, &audio).unwrap();
    let (m, _) = simulate(&trace, &packets, &[BufferSpec::Neteq], false)
        .unwrap()
        .remove(0);
    assert_eq!(m.played, 3000);
    assert_eq!(m.out_of_order_played, 0);
    assert_eq!(m.concealed_pct_sustained, Some(0.0));
    let first = m.first_sustained_audio_ms.unwrap();
    assert!(
        (400.0..700.0).contains(&first),
        "first sustained audio {first} ms"
    );
    // After start-up neteq holds about 20 ms on lan with speech (on a steady tone it cannot
    // find pitch periods to remove and stays near 100 ms).
    let after = m.mean_delay_after_5s_ms.unwrap();
    assert!(
        (10.0..40.0).contains(&after),
        "mean delay after 5 s {after} ms"
    );
}
