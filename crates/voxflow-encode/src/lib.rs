#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod backend;
mod config;
mod decoder;
mod encoder;
mod error;
mod ogg;
mod rtp;
mod sinks;
mod toc;

pub use backend::{Backend, DecoderBackend, EncoderBackend};
pub use config::{Application, BitrateMode, EncoderConfig, FrameDuration};
pub use decoder::OpusDecoder;
pub use encoder::{MAX_PACKET_BYTES, OpusEncoder, is_dtx};
pub use error::Error;
pub use ogg::{OggOpusPacket, OggOpusReader, OggOpusWriter, OpusHead, ogg_crc};
pub use rtp::{OPUS_RTP_CLOCK, PacketizerConfig, RtpOpusPacketizer};
pub use sinks::{OggOpusSink, RtpSink};
pub use toc::{Bandwidth, Mode, PacketInfo, TocError, parse_packet};
// The `voxflow-core` items this crate's API takes and returns, so it can be used alone.
pub use voxflow_core::{
    AudioFormat, AudioFrame, MediaTime, Packet, PacketDecoder, PacketSink, PacketStage, RtpInfo,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_send_and_object_safe() {
        fn is_send<T: Send + ?Sized>() {}
        is_send::<OpusEncoder>();
        is_send::<OpusDecoder>();
        is_send::<RtpOpusPacketizer>();
        let e: Box<
            dyn voxflow_core::PacketStage<
                    Input = voxflow_core::AudioFrame,
                    Output = voxflow_core::Packet,
                >,
        > = Box::new(OpusEncoder::voip(32_000).unwrap());
        std::thread::spawn(move || e.name()).join().unwrap();
    }
}
