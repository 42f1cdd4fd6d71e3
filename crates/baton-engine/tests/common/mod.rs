//! What the engine's integration tests share: the demo workspace, its
//! model trained once per test binary, and a copy of a folder to edit.
//! Each test binary uses its own part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use baton_engine::workspace::Workspace;
use baton_nlu::Analyzer;

pub fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workspaces/demo")
}

/// The demo model, trained once for all tests of a test binary.
pub fn analyzer(workspace: &Workspace) -> Arc<Analyzer> {
    static MODEL: OnceLock<Arc<Analyzer>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let (analyzer, _) = baton_engine::model::load_or_train(workspace, None).unwrap();
            Arc::new(analyzer)
        })
        .clone()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
