//! RTP header serialize/parse cost per packet (12-byte header + 80-byte Opus payload; and with
//! an RFC 8285 one-byte extension and two CSRCs).
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use voxflow_core::{RtpExtension, RtpHeader, RtpPacket, write_extension_elements};

fn bench(c: &mut Criterion) {
    let payload = [0x78u8; 80];
    let mut ext_buf = [0u8; 16];
    let (profile, n) =
        write_extension_elements(&[(1, &[0x90][..]), (3, &[1, 2, 3][..])], &mut ext_buf).unwrap();
    let mut with_ext = RtpHeader::new(111, 1000, 48_000, 0xABCD);
    with_ext.set_csrcs(&[1, 2]).unwrap();
    let cases = [
        (
            "plain",
            RtpPacket {
                header: RtpHeader::new(111, 1000, 48_000, 0xABCD),
                extension: None,
                payload: &payload,
                padding: 0,
            },
        ),
        (
            "ext_csrc",
            RtpPacket {
                header: with_ext,
                extension: Some(RtpExtension {
                    profile,
                    data: &ext_buf[..n],
                }),
                payload: &payload,
                padding: 0,
            },
        ),
    ];
    let mut g = c.benchmark_group("rtp");
    g.throughput(Throughput::Elements(1));
    for (name, pkt) in cases {
        let mut buf = vec![0u8; 1500];
        let mut seq = 0u16;
        g.bench_function(format!("serialize_{name}"), |b| {
            b.iter(|| {
                let mut p = pkt;
                p.header.sequence = seq;
                seq = seq.wrapping_add(1);
                black_box(p.write_to(&mut buf).unwrap())
            })
        });
        let len = pkt.write_to(&mut buf).unwrap();
        let bytes = buf[..len].to_vec();
        g.bench_function(format!("parse_{name}"), |b| {
            b.iter(|| {
                let p = RtpPacket::parse(black_box(&bytes)).unwrap();
                if let Some(e) = p.extension {
                    for el in e.elements() {
                        black_box(el.unwrap());
                    }
                }
                black_box(p.payload.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
