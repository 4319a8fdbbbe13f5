#![allow(missing_docs, clippy::unwrap_used)]
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
fn main() {
    for p in std::env::args().skip(1) {
        let f = std::fs::File::open(&p).unwrap();
        let mss = MediaSourceStream::new(Box::new(f), MediaSourceStreamOptions::default());
        let t0 = std::time::Instant::now();
        let mut fmt = symphonia::default::get_probe().probe(&Hint::new(), mss, FormatOptions::default(), MetadataOptions::default()).unwrap();
        let t1 = t0.elapsed();
        let tr = fmt.default_track(TrackType::Audio).unwrap().clone();
        let ap = tr.codec_params.as_ref().unwrap().audio().unwrap().clone();
        println!("{p}: fmt={} tb={:?} nframes={:?} dur={:?} start={:?} delay={:?} pad={:?} codec={} rate={:?} ch={:?} bps={:?} maxfpp={:?}",
            fmt.format_info().short_name, tr.time_base, tr.num_frames, tr.duration, tr.start_ts, tr.delay, tr.padding, ap.codec, ap.sample_rate, ap.channels.as_ref().map(|c| c.count()), ap.bits_per_sample, ap.max_frames_per_packet);
        let mut dec = match symphonia::default::get_codecs().make_audio_decoder(&ap, &AudioDecoderOptions::default()) { Ok(d)=>d, Err(e)=>{println!("  no decoder: {e}"); continue} };
        let mut total = 0usize; let mut n=0; let mut maxf=0; let mut cap=0;
        let mut first = true;
        while let Some(pkt) = fmt.next_packet().unwrap() {
            if pkt.track_id != tr.id { continue; }
            if n < 2 || first { println!("  pkt pts={:?} dur={:?} ts={:?} te={:?}", pkt.pts, pkt.dur, pkt.trim_start, pkt.trim_end); }
            let b = dec.decode(&pkt).unwrap();
            if first { println!("  first decode at {:?} (probe {:?}) frames={} cap={} spec_rate={} ch={}", t0.elapsed(), t1, b.frames(), b.capacity(), b.spec().rate(), b.spec().channels().count()); first=false;}
            total += b.frames(); n+=1; maxf = maxf.max(b.frames()); cap = cap.max(b.capacity());
        }
        println!("  total={total} packets={n} maxframes={maxf} cap={cap} name={}", dec.codec_info().short_name);
    }
}
