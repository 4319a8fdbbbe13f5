//! voxflow tests
