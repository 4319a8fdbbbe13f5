//! The built-in [`SpeechModel`](crate::SpeechModel) implementations.

#[cfg(feature = "earshot")]
mod earshot_model;
mod energy;
mod voxflow;
mod weights;

#[cfg(feature = "earshot")]
pub use earshot_model::EarshotModel;
pub use energy::EnergyModel;
pub use voxflow::VoxflowModel;
