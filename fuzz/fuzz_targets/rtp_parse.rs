//! Fuzz target: the RTP parser must never panic, and whatever it accepts must write back to the
//! same bytes (up to padding content) and parse again to the same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voxflow_core::RtpPacket;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = RtpPacket::parse(data) else {
        return;
    };
    if let Some(ext) = p.extension {
        for el in ext.elements() {
            if let Ok(el) = el {
                assert!(el.data.len() <= ext.data.len());
            }
        }
    }
    let mut out = Vec::with_capacity(data.len());
    let n = p.write_to_vec(&mut out).expect("a parsed packet writes back");
    assert_eq!(n, data.len());
    let q = RtpPacket::parse(&out).expect("a written packet parses");
    assert_eq!(p, q);
    // Everything except the padding's filler bytes is identical.
    let keep = data.len() - usize::from(p.padding);
    assert_eq!(&out[..keep], &data[..keep]);
});
