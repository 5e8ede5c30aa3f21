//! A query's rows read into values, each site naming what it reads once:
//! the columns as a tuple of their types (in the statement's order), made
//! into the caller's struct by a closure, instead of a `try_get(i)` and
//! its error per field. The caller says once what a failure means.

use tokio_postgres::types::FromSql;
use tokio_postgres::{Error, Row};

/// A row's first columns, read in order as a tuple of their types.
pub trait Columns<'r>: Sized {
    fn read(row: &'r Row) -> Result<Self, Error>;
}

macro_rules! columns {
    ($($t:ident $i:tt),+) => {
        impl<'r, $($t: FromSql<'r>),+> Columns<'r> for ($($t,)+) {
            fn read(row: &'r Row) -> Result<Self, Error> {
                Ok(($(row.try_get::<_, $t>($i)?,)+))
            }
        }
    };
}

columns!(A 0);
columns!(A 0, B 1);
columns!(A 0, B 1, C 2);
columns!(A 0, B 1, C 2, D 3);
columns!(A 0, B 1, C 2, D 3, E 4);

/// Each row's columns made into a `T` by `make`, in the rows' order; the
/// first column that cannot be read fails them all.
pub fn each<'r, C: Columns<'r>, T>(
    rows: &'r [Row],
    mut make: impl FnMut(C) -> T,
) -> Result<Vec<T>, Error> {
    rows.iter().map(|r| C::read(r).map(&mut make)).collect()
}
