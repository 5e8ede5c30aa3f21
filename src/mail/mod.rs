//! Mail as postdesk reads it: parsing raw bytes and making sense of subjects.

pub mod attachments;
pub mod build;
pub mod filename;
pub mod flowed;
pub mod limits;
pub mod msgid;
pub mod parse;
pub mod quote;
pub mod sentiment;
pub mod subject;
pub mod thanks;

pub use limits::Limits;
pub use parse::{parse, parse_with, Inbound, ParseError};
