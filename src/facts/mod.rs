//! Facts derived from a snapshot, each in one place: the address space (`addr`), the network
//! path of a route table (`path`), the endpoints that serve it (`endpoints`), the platform
//! (`platform`), the security group and NACL rule sets (`rules`), what the task uses (`uses`),
//! the pull-through cache rule of a repository (`cache`).
//! Checks read these; nothing here depends on `checks`.

pub mod addr;
pub mod cache;
pub mod endpoints;
pub mod path;
pub mod platform;
pub mod rules;
pub mod uses;
