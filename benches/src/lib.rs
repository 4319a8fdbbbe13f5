//! voxflow benches
