#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]
//! `OpusDecoder` through `Box<dyn PacketDecoder>` in steady state: 200 calls of decode,
//! concealment and FEC recovery inside a counting-allocator window.
//!
//! Known upstream gap: opus-pure 0.2.2 (the latest release) allocates small scratch `Vec`s in
//! its packet loss concealment (SILK: `silk::plc::silk_plc_conceal`, 3-4 per call; CELT: 9
//! per call mono, 16 stereo, measured), so `conceal` (and `decode_fec` from a packet without
//! FEC data, which falls back to concealment) allocates inside the codec, not in voxflow's
//! code. Decoding allocates nothing.
//! Counted on this thread (voxflow-testkit's allocator): the decoder runs on the test's
//! thread, so parallel tests cannot disturb the count.

use voxflow_core::{AudioFrame, PacketDecoder};
use voxflow_encode::{
    Application, Backend, EncoderConfig, MAX_PACKET_BYTES, OpusDecoder, OpusEncoder,
};
use voxflow_testkit::alloc::{CountingAlloc, measure};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// 40 packets of 20 ms of a 200 Hz tone: `silk` = VoIP at 24 kbit/s with in-band FEC (SILK
/// mode), else Audio at 96 kbit/s (CELT mode).
fn packets(backend: Backend, silk: bool) -> Vec<Vec<u8>> {
    let mut cfg = if silk {
        EncoderConfig::voip(24_000)
    } else {
        let mut c = EncoderConfig::audio(96_000);
        c.channels = 1;
        c.application = Application::Audio;
        c
    };
    cfg.backend = backend;
    cfg.fec = silk;
    cfg.expected_loss_percent = if silk { 20 } else { 0 };
    let mut enc = OpusEncoder::new(cfg).unwrap();
    let mut buf = vec![0u8; MAX_PACKET_BYTES];
    (0..40)
        .map(|k| {
            let pcm: Vec<f32> = (0..960)
                .map(|i| {
                    let t = (k * 960 + i) as f32 / 48_000.0;
                    0.3 * (std::f32::consts::TAU * 200.0 * t).sin()
                })
                .collect();
            let n = enc.encode_interleaved(&pcm, &mut buf).unwrap();
            buf[..n].to_vec()
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Op {
    Decode,
    Conceal,
    Fec,
}

/// Allocations inside a window.
#[derive(Debug, Default)]
struct Counts {
    /// Allocations during decode calls.
    decode: u64,
    /// Allocations during conceal and FEC calls.
    loss: u64,
    /// Conceal and FEC calls.
    loss_calls: u64,
}

/// Runs `ops` (cycled, 200 calls) after a warm-up, counting allocations per kind of call.
fn window(dec: &mut dyn PacketDecoder, pkts: &[Vec<u8>], ops: &[Op]) -> Counts {
    let per_packet = dec.format().rate as usize / 50;
    let mut out = AudioFrame::with_capacity(dec.format(), dec.max_frames());
    for p in &pkts[..4] {
        dec.decode(p, &mut out).unwrap();
        dec.conceal(per_packet, &mut out).unwrap();
        dec.decode_fec(p, per_packet, &mut out).unwrap();
    }
    let mut energy = 0.0f64;
    let mut c = Counts::default();
    for k in 0..200 {
        let p = &pkts[k % pkts.len()];
        let op = ops[k % ops.len()];
        let (n, allocs) = measure(|| match op {
            Op::Decode => dec.decode(p, &mut out).unwrap(),
            Op::Conceal => dec.conceal(per_packet, &mut out).unwrap(),
            Op::Fec => dec.decode_fec(p, per_packet, &mut out).unwrap(),
        });
        let allocs = allocs.this_thread;
        match op {
            Op::Decode => c.decode += allocs,
            Op::Conceal | Op::Fec => {
                c.loss += allocs;
                c.loss_calls += 1;
            }
        }
        assert_eq!(n, per_packet);
        energy += out.samples().iter().map(|&s| f64::from(s * s)).sum::<f64>();
    }
    assert!(energy > 1.0, "decoded nothing audible");
    c
}

/// 200 decode + conceal + FEC calls through `Box<dyn PacketDecoder>`, SILK (with in-band FEC)
/// and CELT streams, three output formats, every compiled backend: the decode calls allocate
/// nothing; the loss calls allocate only what opus-pure's PLC does (see the top of the file),
/// bounded here so a regression in our code (which would add per-call allocations to every
/// kind of call) still fails. libopus (feature `libopus`) must allocate nothing at all.
#[test]
fn steady_state_allocations() {
    let ops = [Op::Decode, Op::Conceal, Op::Decode, Op::Fec];
    for &backend in Backend::available() {
        let name = backend.name();
        for silk in [true, false] {
            let pkts = packets(backend, silk);
            let mode = if silk { "SILK" } else { "CELT" };
            for (rate, ch) in [(48_000u32, 1u16), (16_000, 1), (48_000, 2)] {
                let mut dec: Box<dyn PacketDecoder> =
                    Box::new(OpusDecoder::new(backend, rate, ch).unwrap());
                let c = window(&mut *dec, &pkts, &ops);
                eprintln!("{name} {mode} at {rate} Hz × {ch}: {c:?}");
                assert_eq!(c.decode, 0, "{name} {mode} decode at {rate} Hz × {ch}");
                if backend == Backend::PureRust {
                    assert!(
                        c.loss <= 16 * c.loss_calls,
                        "{name} {mode} at {rate} Hz × {ch}: {c:?}"
                    );
                } else {
                    assert_eq!(c.loss, 0, "{name} {mode} loss at {rate} Hz × {ch}");
                }
            }
        }
    }
}
