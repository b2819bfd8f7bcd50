//! Config parse and `${VAR}` expansion: `Config::from_json` on arbitrary UTF-8
//! must answer with a config or an error, never panic. A few variables are
//! set so that the corpus' `${VAR}` references expand.
#![no_main]

mod worker_stack;

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mcp_code_runtime::config::Config;

/// Variables the corpus refers to: set, empty, and nested in a default.
const VARIABLES: &[(&str, &str)] = &[("FUZZ_ROOT", "/fuzz/root"), ("FUZZ_EMPTY", ""), ("FUZZ_TOKEN", "s3cr3t")];

fuzz_target!(
    init: {
        for (name, value) in VARIABLES {
            // SAFETY: init runs once, before any other thread of the fuzzer exists.
            unsafe { std::env::set_var(name, value) };
        }
    },
    |data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else { return };
        let text = text.to_owned();
        worker_stack::on_worker_stack(move || {
            let _ = Config::from_json(&text, Path::new("fuzz.json"));
        });
    }
);
