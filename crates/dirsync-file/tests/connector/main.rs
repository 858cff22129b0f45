//! The file connector's suite: one binary, one module per concept, over a shared support
//! module (a temporary export folder).

mod checks;
mod good_files;
mod hostile_files;
mod large_file;
mod support;
