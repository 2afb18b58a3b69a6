//! Every committed fuzz input — the seeds of `fuzz/corpus/<target>/` and
//! every crash ever found, kept in `fuzz/regressions/<target>/` — replayed
//! through its target as an ordinary test (issue 9 §3: CI runs on a stable
//! toolchain, where the fuzzers themselves do not).

use std::path::{Path, PathBuf};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_input_replays_without_a_failure() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for (target, run) in retrace_fuzzing::TARGETS {
        let seeds = inputs(&fuzz.join("corpus").join(target));
        assert!(!seeds.is_empty(), "fuzz/corpus/{target} has no seeds");
        for input in seeds
            .into_iter()
            .chain(inputs(&fuzz.join("regressions").join(target)))
        {
            let bytes = std::fs::read(&input).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&bytes));
            assert!(outcome.is_ok(), "{target}: {} fails", input.display());
            replayed += 1;
        }
    }
    assert!(replayed > 0);
}
