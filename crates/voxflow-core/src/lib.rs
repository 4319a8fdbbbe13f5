#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod codec;
mod error;
mod event;
mod fifo;
mod frame;
mod packet;
mod reframe;
mod rtp;
mod stage;
mod time;
mod trace;

pub use codec::PacketDecoder;
pub use error::{Error, Result};
pub use event::{StageEvent, TurnEvent};
pub use fifo::SampleFifo;
pub use frame::{AudioFormat, AudioFrame, FramePool, MAX_CHANNELS, MAX_SAMPLE_RATE};
pub use packet::{Packet, RtpInfo};
pub use reframe::Reframer;
pub use rtp::{
    EXT_PROFILE_ONE_BYTE, EXT_PROFILE_TWO_BYTE, ExtensionElement, ExtensionElements,
    RTP_FIXED_HEADER_LEN, RTP_MAX_CSRCS, RTP_VERSION, RtpError, RtpExtension, RtpHeader, RtpPacket,
    write_extension_elements,
};
pub use stage::{AudioSink, AudioSource, AudioStage, PacketSink, PacketSource, PacketStage};
pub use time::{MediaTime, RtpTimestampUnwrapper, seq_diff};
pub use trace::{Stamp, TRACE_CAPACITY, Trace};
