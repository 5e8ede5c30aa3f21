//! The guards' scans over `guard` (`mark`, 0, address).

use super::*;
use crate::store::engine::Guard;

impl Guard for Sled {
    fn marks(&self) -> Result<Vec<bounce::Mark>> {
        self.guard
            .scan_prefix(b"mark\0")
            .map(|r| {
                let (_, v) = r.map_err(self.io("read address marks"))?;
                from_json("address mark", &v)
            })
            .collect()
    }
}
