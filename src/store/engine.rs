//! The seam between the store's facade ([`super::Store`]) and where the
//! records are kept. See NOTES-engine.md at the repository root.
