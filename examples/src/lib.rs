//! voxflow examples
