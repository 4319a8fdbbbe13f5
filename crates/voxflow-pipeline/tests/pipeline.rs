//! End-to-end behaviour of the runtime: exactness across rings, drop policies, stop, errors,
//! pacing, events and reports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Decimator, Indexed, SlowSink};
use proptest::prelude::*;
use voxflow_core::{AudioFormat, AudioStage, Error as CoreError, Reframer};
use voxflow_pipeline::sinks::{CollectSink, NullSink, WavFormat, WavSink};
use voxflow_pipeline::sources::{Counter, Sine, counter_value};
use voxflow_pipeline::stages::FnStage;
use voxflow_pipeline::{Error, Event, Link, Overflow, Pacing, Pipeline, Role, VirtualClock};

fn fmt(rate: u32, ch: u16) -> AudioFormat {
    AudioFormat::new(rate, ch).unwrap()
}

fn gain2(
    f: AudioFormat,
    max: usize,
) -> FnStage<impl FnMut(&mut [f32]) -> Result<(), CoreError> + Send> {
    FnStage::new("gain", f, max, |s: &mut [f32]| {
        s.iter_mut().for_each(|x| *x *= 2.0);
        Ok(())
    })
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Reframe(usize),
    Gain,
    Decimate,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1usize..400).prop_map(Op::Reframe),
        Just(Op::Gain),
        Just(Op::Decimate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Samples in = samples out, exactly and in order, across any number of Block rings and
    /// stages that change frame sizes, formats and sample counts.
    #[test]
    fn block_rings_deliver_every_sample_in_order(
        channels in 1u16..=2,
        src_len in 1usize..300,
        total in 0u64..4000,
        first in op(),
        segments in proptest::collection::vec((1usize..6, proptest::option::of(op())), 0..4),
    ) {
        let mut f = fmt(48_000, channels);
        let mut max = src_len;
        // Expected output, computed offline.
        let mut expect: Vec<f32> =
            (0..total * u64::from(channels)).map(counter_value).collect();
        let mut b = Pipeline::builder().source(Counter::new(f, src_len).frames(total));
        let apply = |b: voxflow_pipeline::PipelineBuilder, o: Op, f: &mut AudioFormat, max: &mut usize, expect: &mut Vec<f32>| {
            match o {
                Op::Reframe(n) => {
                    let st = Reframer::new(*f, n, *max);
                    *max = st.max_output_frames();
                    b.stage(st)
                }
                Op::Gain => {
                    expect.iter_mut().for_each(|x| *x *= 2.0);
                    b.stage(gain2(*f, *max))
                }
                Op::Decimate => {
                    let ch = usize::from(f.channels);
                    *expect = expect
                        .chunks_exact(ch)
                        .step_by(2)
                        .flatten()
                        .copied()
                        .collect();
                    let st = Decimator::new(*f, *max);
                    *f = st.output_format();
                    *max = st.max_output_frames();
                    b.stage(st)
                }
            }
        };
        b = apply(b, first, &mut f, &mut max, &mut expect);
        for (cap, o) in &segments {
            b = b.boundary(Link::ring(*cap));
            if let Some(o) = o {
                b = apply(b, *o, &mut f, &mut max, &mut expect);
            }
        }
        let sink = CollectSink::new();
        let got = sink.collected();
        let report = b.sink(sink).spawn().unwrap().wait().unwrap();
        prop_assert_eq!(got.samples(), expect);
        prop_assert!(got.is_finished());
        prop_assert_eq!(report.sample_frames_in, total);
        prop_assert_eq!(report.dropped(), 0);
        prop_assert_eq!(report.links.len(), segments.len());
        for l in &report.links {
            prop_assert_eq!(l.sent, l.delivered);
        }
    }
}

fn drop_run(policy: Overflow, slots: usize, frames: u64) -> (Vec<f32>, voxflow_pipeline::Report) {
    let f = fmt(8_000, 1);
    let (sink, firsts) = SlowSink::new(Duration::from_millis(1));
    let report = Pipeline::builder()
        .source(Indexed::new(f, 80, frames))
        .boundary(Link::ring(slots).with_overflow(policy).with_name("net"))
        .sink(sink)
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    let got = firsts.lock().unwrap().clone();
    (got, report)
}

#[test]
fn drop_newest_counts_every_drop() {
    let (got, report) = drop_run(Overflow::DropNewest, 4, 300);
    let link = &report.links[0];
    assert_eq!(link.name, "net");
    assert_eq!(link.sent, 300);
    assert_eq!(link.delivered, got.len() as u64);
    assert_eq!(link.sent, link.delivered + link.dropped, "{report}");
    assert!(link.dropped > 0, "a 1 ms sink must fall behind: {report}");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order: {got:?}");
    assert_eq!(got[0], 0.0, "the first frame is never dropped");
    assert_eq!(report.frames_out, got.len() as u64);
}

#[test]
fn drop_oldest_counts_every_drop_and_keeps_the_newest() {
    let slots = 4;
    let (got, report) = drop_run(Overflow::DropOldest, slots, 300);
    let link = &report.links[0];
    assert_eq!(link.sent, 300);
    assert_eq!(link.delivered, got.len() as u64);
    assert_eq!(link.sent, link.delivered + link.dropped, "{report}");
    assert!(link.dropped > 0, "{report}");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order: {got:?}");
    // The newest `slots` frames always arrive.
    let tail: Vec<f32> = (300 - slots as u64..300).map(|k| k as f32).collect();
    assert_eq!(got[got.len() - slots..], tail[..], "{got:?}");
}

#[test]
fn stop_while_the_producer_is_blocked() {
    let f = fmt(48_000, 1);
    let (sink, firsts) = SlowSink::new(Duration::from_millis(20));
    let running = Pipeline::builder()
        .source(Counter::new(f, 480)) // endless
        .stage(gain2(f, 480))
        .boundary(Link::ring(2))
        .sink(sink)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // The producer is parked on the full ring by now.
    assert!(running.links()[0].in_flight() >= 1);
    let t0 = Instant::now();
    running.stop();
    let report = running.wait().unwrap();
    let took = t0.elapsed();
    assert!(took < Duration::from_millis(500), "stop took {took:?}");
    assert!(report.stopped && report.finished);
    assert!(!firsts.lock().unwrap().is_empty());
    assert!(report.frames_in < 50, "the source was held back: {report}");
}

#[test]
fn dropping_the_handle_stops_an_endless_pipeline() {
    let f = fmt(16_000, 1);
    let sink = NullSink::new();
    let counts = sink.counts();
    let running = Pipeline::builder()
        .source(Sine::new(f, 440.0, 160))
        .boundary(Link::ring(4))
        .sink(sink)
        .pacing(Pacing::RealTime {
            lead: Duration::from_millis(20),
        })
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let t0 = Instant::now();
    drop(running);
    assert!(t0.elapsed() < Duration::from_millis(500));
    assert!(counts.frames() > 0);
}

#[test]
fn a_fatal_stage_error_reaches_wait_with_the_stage_name() {
    let f = fmt(8_000, 1);
    let mut n = 0;
    let boom = FnStage::new("boom", f, 80, move |_: &mut [f32]| {
        n += 1;
        if n == 5 {
            Err(CoreError::Unsupported("frame five".into()))
        } else {
            Ok(())
        }
    });
    let running = Pipeline::builder()
        .source(Counter::new(f, 80)) // endless: only the error ends it
        .boundary(Link::ring(2))
        .stage(boom)
        .boundary(Link::ring(2))
        .sink(NullSink::new())
        .spawn()
        .unwrap();
    let events = running.events().clone();
    let err = running.wait().unwrap_err();
    match &err {
        Error::Stage { stage, source } => {
            assert_eq!(*stage, "boom");
            assert!(matches!(source, CoreError::Unsupported(_)));
        }
        other => panic!("unexpected {other:?}"),
    }
    let core: CoreError = err.into();
    assert!(matches!(core, CoreError::Stage { stage: "boom", .. }));
    let evs: Vec<Event> = events.try_iter().collect();
    assert!(
        evs.iter()
            .any(|e| matches!(e, Event::Error { stage: "boom", .. })),
        "{evs:?}"
    );
    assert!(evs.contains(&Event::Finished { stopped: true }), "{evs:?}");
}

#[test]
fn sink_and_source_errors_are_named_too() {
    let f = fmt(8_000, 1);
    // Sink: a WAV sink for another format refuses with a skippable error (counted) ...
    let wrong = WavSink::new(
        std::io::Cursor::new(Vec::new()),
        fmt(16_000, 1),
        WavFormat::Pcm16,
    )
    .unwrap();
    let running = Pipeline::builder()
        .source(Counter::new(f, 80).frames(800))
        .sink(wrong)
        .spawn()
        .unwrap();
    let report = running.report();
    // Every frame was refused: that is an error, not an empty success.
    match running.wait() {
        Err(Error::NothingDelivered { skipped }) => assert_eq!(skipped, 10),
        other => panic!("expected NothingDelivered, got {other:?}"),
    }
    assert_eq!(report.frames_out, 0);

    // ... and a fatal one from a source stops the pipeline with its name.
    struct Broken;
    impl voxflow_core::AudioSource for Broken {
        fn name(&self) -> &'static str {
            "broken"
        }
        fn format(&self) -> AudioFormat {
            AudioFormat::new(8_000, 1).unwrap()
        }
        fn max_frames(&self) -> usize {
            80
        }
        fn read(&mut self, _: &mut voxflow_core::AudioFrame) -> Result<bool, CoreError> {
            Err(CoreError::Truncated("gone".into()))
        }
    }
    let err = Pipeline::builder()
        .source(Broken)
        .boundary(Link::ring(1))
        .sink(NullSink::new())
        .spawn()
        .unwrap()
        .wait()
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Stage {
                stage: "broken",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn skippable_errors_are_counted_and_the_stream_goes_on() {
    let f = fmt(8_000, 1);
    let mut n = 0;
    let flaky = FnStage::new("flaky", f, 80, move |_: &mut [f32]| {
        n += 1;
        if n == 3 {
            Err(CoreError::Malformed {
                what: "frame",
                detail: "test".into(),
            })
        } else {
            Ok(())
        }
    });
    let sink = CollectSink::new();
    let got = sink.collected();
    let running = Pipeline::builder()
        .source(Counter::new(f, 80).frames(800))
        .stage(flaky)
        .boundary(Link::ring(3))
        .sink(sink)
        .spawn()
        .unwrap();
    let events = running.events().clone();
    let report = running.wait().unwrap();
    assert_eq!(report.skipped, 1);
    assert_eq!(got.frames(), 9);
    let s = got.samples();
    assert_eq!(s.len(), 720);
    assert_eq!(s[159], 159.0);
    assert_eq!(s[160], 240.0); // frame 2 (samples 160..240) was skipped
    assert!(
        events
            .try_iter()
            .any(|e| matches!(e, Event::Skipped { stage: "flaky", .. }))
    );
}

#[test]
fn real_time_pacing_on_the_system_clock() {
    let f = fmt(48_000, 2);
    let lead = Duration::from_millis(50);
    let report = Pipeline::builder()
        .source(Sine::new(f, 440.0, 480).duration(Duration::from_millis(500)))
        .boundary(Link::ring(4))
        .sink(NullSink::new())
        .pacing(Pacing::RealTime { lead })
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(report.sample_frames_out, 24_000);
    assert!(report.wall >= Duration::from_millis(450), "{report}");
    assert!(report.wall < Duration::from_millis(800), "{report}");
}

#[test]
fn real_time_pacing_on_a_virtual_clock_is_exact() {
    let f = fmt(48_000, 1);
    let clock = Arc::new(VirtualClock::new());
    let t0 = Instant::now();
    let report = Pipeline::builder()
        .source(Sine::new(f, 440.0, 480).duration(Duration::from_secs(10)))
        .stage(gain2(f, 480))
        .boundary(Link::ring(4))
        .sink(NullSink::new())
        .pacing(Pacing::RealTime {
            lead: Duration::from_millis(100),
        })
        .clock(clock.clone())
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    // 10 s of audio, 100 ms lead: the reader of frame k waits until (k+1)·10 ms − 100 ms;
    // the final read (end of stream) waits for the frame after the last: 10.01 s − 0.1 s.
    assert_eq!(report.wall, Duration::from_millis(9_910), "{report}");
    assert_eq!(clock.elapsed(), Duration::from_millis(9_910));
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "virtual time must not sleep"
    );
    assert_eq!(report.first_frame_in, Some(Duration::ZERO));
}

#[test]
fn report_rows_follow_the_pipeline_and_events_arrive() {
    let f = fmt(48_000, 2);
    let running = Pipeline::builder()
        .source(Sine::new(f, 440.0, 441).duration(Duration::from_millis(300)))
        .stage(Reframer::new(f, 960, 441))
        .boundary(Link::ring(Duration::from_millis(100)).with_name("hop"))
        .stage(gain2(f, 960))
        .boundary(Link::ring(2).with_overflow(Overflow::DropNewest))
        .sink(NullSink::new())
        .spawn()
        .unwrap();
    let events = running.events().clone();
    let report = running.wait().unwrap();
    let rows: Vec<(&str, Role)> = report.stages.iter().map(|s| (s.name, s.role)).collect();
    assert_eq!(
        rows,
        [
            ("sine", Role::Source),
            ("reframe", Role::Stage),
            ("hop", Role::Link),
            ("gain", Role::Stage),
            ("ring1", Role::Link),
            ("null", Role::Sink),
        ]
    );
    assert_eq!(report.links[0].slots, 5);
    assert_eq!(report.sample_frames_in, 14_400);
    assert_eq!(
        report.sample_frames_out + report.dropped() * 960,
        report.sample_frames_in
    );
    for s in &report.stages {
        assert_eq!(s.latency.count, report.frames_out, "{}", s.name);
        assert!(s.latency.p50 <= s.latency.p99 && s.latency.p99 <= s.latency.max);
    }
    assert_eq!(report.total.count, report.frames_out);
    let (fin, fout) = (
        report.first_frame_in.unwrap(),
        report.first_frame_out.unwrap(),
    );
    assert!(fin <= fout && fout <= report.wall);
    assert!(report.finished && !report.stopped);
    let text = report.to_string();
    assert!(text.contains("hop") && text.contains("p99"), "{text}");

    let evs: Vec<Event> = events.try_iter().collect();
    assert_eq!(evs.first(), Some(&Event::Started), "{evs:?}");
    assert!(evs.iter().any(|e| matches!(e, Event::FirstFrameIn { .. })));
    assert!(evs.iter().any(|e| matches!(e, Event::FirstFrameOut { .. })));
    assert!(evs.contains(&Event::Finished { stopped: false }), "{evs:?}");
}

#[test]
fn report_is_readable_while_running_and_flush_drains() {
    let f = fmt(16_000, 1);
    let sink = CollectSink::new();
    let got = sink.collected();
    let running = Pipeline::builder()
        .source(Counter::new(f, 160)) // endless
        .stage(Reframer::new(f, 100, 160))
        .boundary(Link::ring(4))
        .sink(sink)
        .pacing(Pacing::RealTime {
            lead: Duration::from_millis(20),
        })
        .report_interval(Duration::from_millis(10))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let live = running.report();
    assert!(!live.finished);
    assert!(live.frames_out > 0);
    assert!(live.stages[0].latency.count > 0, "{live}");
    running.flush();
    let report = running.wait().unwrap();
    assert!(!report.stopped);
    // Flushed, not stopped: the reframer's tail reached the sink, nothing was lost.
    let s = got.samples();
    assert_eq!(s.len() as u64, report.sample_frames_in);
    assert!(
        s.iter()
            .enumerate()
            .all(|(i, &v)| v == counter_value(i as u64))
    );
}

#[test]
fn builder_rejects_bad_chains() {
    let f = fmt(48_000, 1);
    let e = Pipeline::builder()
        .source(Counter::new(f, 480))
        .spawn()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { what: "sink", .. }));
    let e = Pipeline::builder()
        .source(Counter::new(f, 480))
        .stage(gain2(fmt(16_000, 1), 480))
        .sink(NullSink::new())
        .spawn()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::FormatMismatch {
                upstream: "counter",
                downstream: "gain",
                ..
            }
        ),
        "{e}"
    );
    let e = Pipeline::builder()
        .source(Counter::new(f, 480))
        .stage(Reframer::new(f, 160, 160))
        .sink(NullSink::new())
        .spawn()
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::FrameSizeMismatch {
                frames: 480,
                max_frames: 160,
                ..
            }
        ),
        "{e}"
    );
    let e = Pipeline::builder()
        .source(Counter::new(f, 480))
        .boundary(Link::ring(0))
        .sink(NullSink::new())
        .spawn()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidConfig { .. }), "{e}");
}

#[test]
fn wav_sink_behind_a_ring_writes_a_valid_file() {
    let f = fmt(16_000, 2);
    let path = std::env::temp_dir().join(format!("voxflow-pipeline-{}.wav", std::process::id()));
    let report = Pipeline::builder()
        .source(Sine::new(f, 1000.0, 160).duration(Duration::from_millis(250)))
        .boundary(Link::ring(3))
        .sink(WavSink::create(&path, f, WavFormat::Float32).unwrap())
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(report.sample_frames_out, 4_000);
    // A 68-byte WAVE_FORMAT_EXTENSIBLE header (hound's, for float), then the samples.
    assert_eq!(bytes.len(), 68 + 8_000 * 4);
    let data = u32::from_le_bytes([bytes[64], bytes[65], bytes[66], bytes[67]]);
    assert_eq!(data, 32_000);
}

// ---------------------------------------------------------------------------------------------
// Packet tail: encoder + packet sink

fn bytes_to_f32(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn packet_tail_after_a_ring_is_exact_and_reported_in_order() {
    let f = fmt(8_000, 2);
    let sink = voxflow_pipeline::sinks::CollectPackets::new();
    let got = sink.collected();
    let running = Pipeline::builder()
        .source(Counter::new(f, 80).frames(8_000))
        .stage(gain2(f, 80))
        .boundary(Link::ring(3).with_name("net"))
        .stage(Reframer::new(f, 160, 80))
        .encoder(common::ByteCopier::new(f, 160))
        .packet_sink(sink)
        .spawn()
        .unwrap();
    let events = running.events().clone();
    let report = running.wait().unwrap();
    println!("{report}");
    let names: Vec<_> = report.stages.iter().map(|s| (s.name, s.role)).collect();
    assert_eq!(
        names,
        [
            ("counter", Role::Source),
            ("gain", Role::Stage),
            ("net", Role::Link),
            ("reframe", Role::Stage),
            ("bytes", Role::Stage),
            ("collect", Role::Sink),
        ]
    );
    let packets = got.packets();
    assert!(got.is_finished());
    // 8000 frames / 160 per packet + one trailing flush packet.
    assert_eq!(packets.len(), 51);
    assert_eq!(report.packets_out, 51);
    let bytes: u64 = packets.iter().map(|p| p.len() as u64).sum();
    assert_eq!(report.bytes_out, bytes);
    assert_eq!(report.frames_out, 50);
    assert_eq!(report.sample_frames_out, 8_000);
    // Exact content, in order, with pts following the audio.
    let mut all = Vec::new();
    for (k, p) in packets[..50].iter().enumerate() {
        assert_eq!(p.pts, voxflow_core::MediaTime::new(k as i64 * 160, 8_000));
        // The frame's trace came with the packet, then the encoder and sink stamps.
        let stamps: Vec<_> = p.trace.stamps().map(|s| s.stage).collect();
        assert_eq!(
            stamps,
            ["counter", "gain", "net", "reframe", "bytes", "collect"]
        );
        all.extend(bytes_to_f32(p.data()));
    }
    let expect: Vec<f32> = (0..16_000)
        .map(|i| 2.0 * voxflow_pipeline::sources::counter_value(i as u64))
        .collect();
    assert_eq!(all.len(), expect.len());
    assert_eq!(all, expect);
    // The untraced flush packet is written and counted but not in the latency rows.
    assert!(packets[50].trace.origin().is_some()); // stamped by the runtime
    let enc_row = report.stages.iter().find(|s| s.name == "bytes").unwrap();
    assert_eq!(enc_row.latency.count, 50);
    assert_eq!(report.total.count, 50);
    assert!(report.first_frame_out.is_some());
    assert!(report.to_string().contains("packets out: 51"));
    assert!(
        events
            .try_iter()
            .any(|e| matches!(e, Event::FirstFrameOut { .. }))
    );
}

#[test]
fn packet_tail_errors_skip_or_stop_like_sinks() {
    let f = fmt(8_000, 1);
    // Skippable: one frame dropped, counted, the stream goes on.
    let mut enc = common::ByteCopier::new(f, 80);
    enc.fail_at = Some((2, || CoreError::Malformed {
        what: "frame",
        detail: "test".into(),
    }));
    let sink = voxflow_pipeline::sinks::NullPacketSink::new();
    let counts = sink.counts();
    let report = Pipeline::builder()
        .source(Counter::new(f, 80).frames(800))
        .encoder(enc)
        .packet_sink(sink)
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(report.skipped, 1);
    assert_eq!(counts.packets(), 10); // 9 frames + the flush packet
    assert_eq!(report.packets_out, 10);
    assert_eq!(counts.bytes(), report.bytes_out);
    assert_eq!(report.bytes_out, 9 * 80 * 4 + 1);
    assert!(counts.is_finished());
    // Fatal: wait returns the encoder's name; the sink is still finished.
    let mut enc = common::ByteCopier::new(f, 80);
    enc.fail_at = Some((3, || CoreError::Truncated("test".into())));
    let sink = voxflow_pipeline::sinks::NullPacketSink::new();
    let counts = sink.counts();
    let err = Pipeline::builder()
        .source(Counter::new(f, 80).frames(800))
        .boundary(Link::ring(2))
        .encoder(enc)
        .packet_sink(sink)
        .spawn()
        .unwrap()
        .wait()
        .unwrap_err();
    assert!(matches!(err, Error::Stage { stage: "bytes", .. }), "{err}");
    assert!(counts.is_finished());
    assert_eq!(counts.packets(), 3);
}

#[test]
fn packet_tail_paced_on_a_virtual_clock_and_stoppable() {
    let f = fmt(8_000, 1);
    let clock = Arc::new(VirtualClock::new());
    let report = Pipeline::builder()
        .source(Counter::new(f, 80).frames(8_000)) // 1 s
        .encoder(common::ByteCopier::new(f, 80))
        .packet_sink(voxflow_pipeline::sinks::NullPacketSink::new())
        .clock(clock.clone())
        .pacing(Pacing::RealTime {
            lead: Duration::from_millis(20),
        })
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(report.packets_out, 101);
    assert!(
        report.wall >= Duration::from_millis(980),
        "{:?}",
        report.wall
    );
    // Stop an endless paced pipeline.
    let sink = voxflow_pipeline::sinks::NullPacketSink::new();
    let counts = sink.counts();
    let running = Pipeline::builder()
        .source(Sine::new(f, 440.0, 80))
        .boundary(Link::ring(4))
        .encoder(common::ByteCopier::new(f, 80))
        .packet_sink(sink)
        .pacing(Pacing::RealTime {
            lead: Duration::from_millis(20),
        })
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    running.stop();
    let report = running.wait().unwrap();
    assert!(report.stopped);
    assert!(counts.is_finished());
    assert!(
        report.packets_out > 0 && report.packets_out < 20,
        "{report}"
    );
}

#[test]
fn packet_tail_builder_errors() {
    let f = fmt(8_000, 1);
    let src = || Counter::new(f, 80).frames(10);
    let enc = || common::ByteCopier::new(f, 80);
    let psink = voxflow_pipeline::sinks::NullPacketSink::new;
    let cfg = |r: Result<voxflow_pipeline::Running, Error>| match r {
        Err(Error::InvalidConfig { what, reason }) => (what, reason),
        other => panic!("expected a config error, got {other:?}"),
    };
    let (what, reason) = cfg(Pipeline::builder().source(src()).encoder(enc()).spawn());
    assert_eq!(what, "sink");
    assert!(reason.contains("after bytes"), "{reason}");
    let items = |r: Result<voxflow_pipeline::Running, Error>| match r {
        Err(e @ Error::ItemMismatch { .. }) => e.to_string(),
        other => panic!("expected an item mismatch, got {other:?}"),
    };
    // A packet sink straight after audio, an audio stage after an encoder: both sides named.
    let msg = items(
        Pipeline::builder()
            .source(src())
            .packet_sink(psink())
            .spawn(),
    );
    assert_eq!(
        msg,
        "null takes packets, but the chain carries audio frames after counter"
    );
    let (what, _) = cfg(Pipeline::builder()
        .source(src())
        .encoder(enc())
        .packet_sink(psink())
        .sink(NullSink::new())
        .spawn());
    assert_eq!(what, "sink");
    let msg = items(
        Pipeline::builder()
            .source(src())
            .encoder(enc())
            .stage(gain2(f, 80))
            .packet_sink(psink())
            .spawn(),
    );
    assert_eq!(
        msg,
        "gain takes audio frames, but the chain carries packets after bytes"
    );
}
