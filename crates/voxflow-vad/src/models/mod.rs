//! The built-in [`SpeechModel`](crate::SpeechModel) implementations.

#[cfg(feature = "earshot")]
mod earshot_model;
mod energy;
mod voxflow;
#[cfg(feature = "webrtc-vad")]
mod webrtc;
mod weights;

#[cfg(feature = "earshot")]
pub use earshot_model::EarshotModel;
pub use energy::EnergyModel;
pub use voxflow::VoxflowModel;
#[cfg(feature = "webrtc-vad")]
pub use webrtc::WebRtcModel;
