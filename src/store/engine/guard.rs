//! The guards' scans: what is remembered per address beyond intake's
//! keyed reads ([`super::Intake::mark`], [`super::Intake::auto_sent`]).

use crate::bounce;
use crate::store::Result;

pub trait Guard {
    /// Every bounce mark, by address (byte order of the trimmed,
    /// lowercased address).
    fn marks(&self) -> Result<Vec<bounce::Mark>>;
}
