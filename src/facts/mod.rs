//! Facts derived from a snapshot, each in one place: the address space (`addr`), the network
//! path of a route table (`path`). Checks read these; nothing here depends on `checks`.

pub mod addr;
pub mod path;
