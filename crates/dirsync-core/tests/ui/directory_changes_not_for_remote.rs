// A change set for the directory cannot be applied to a remote (and the other way round).
use dirsync_core::*;

async fn push(target: &dyn DirectoryTarget, changes: &DirectoryChanges) {
    let _ = target.apply(changes).await;
}

fn main() {}
