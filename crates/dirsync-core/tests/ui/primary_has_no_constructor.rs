// Only the store makes a primary: there is no constructor...
use dirsync_core::*;

fn main() {
    let _primary = Integration::<Inbound, Primary>::new("mine");
}
