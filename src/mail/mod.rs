//! Mail as postdesk reads it: parsing raw bytes and making sense of subjects.

pub mod build;
pub mod parse;
pub mod quote;
pub mod subject;

pub use parse::{parse, Inbound, ParseError};
