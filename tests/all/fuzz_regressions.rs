//! Inputs on which a fuzz target (`fuzz/`, `make fuzz`) crashed, replayed
//! through the real binary: `fuzz/regressions/<target>/` holds one file per
//! crash. Each must get an answer, and the host must answer the next call.

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::json;

use crate::util::{Host, expect_result};

/// The regression inputs of one fuzz target, by file name.
fn inputs(target: &str) -> Result<Vec<(PathBuf, String)>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let text = String::from_utf8(std::fs::read(&path)?).with_context(|| format!("{} is not UTF-8", path.display()))?;
        inputs.push((path, text));
    }
    inputs.sort();
    assert!(!inputs.is_empty(), "no regression inputs in {}", dir.display());
    Ok(inputs)
}

/// `transpile` and `sandbox_run` crashed on these programs (in a build with
/// debug assertions, as `cargo fuzz` builds): the host must answer each, with a
/// value or an error.
#[tokio::test]
async fn programs_that_crashed_a_fuzz_target_are_answered() -> Result<()> {
    let host = Host::start().await?;
    for target in ["transpile", "sandbox_run"] {
        for (path, source) in inputs(target)? {
            let response = host.execute(&source).await.with_context(|| format!("running {}", path.display()))?;
            assert!(
                response["ok"] == json!(true) || response["error"]["kind"].is_string(),
                "{}: an answer with a value or an error kind: {response:#}",
                path.display()
            );
            assert_eq!(expect_result(&host.execute("return 1;").await?), &json!(1), "after {}", path.display());
        }
    }
    Ok(())
}
