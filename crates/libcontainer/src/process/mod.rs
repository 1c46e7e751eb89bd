//! The container's processes: the clone, the parent<->init channel, the init
//! sequence and the terminal.

pub mod channel;
pub mod clone;
pub mod console;
pub mod exec;
pub mod init;
pub mod trampoline;
