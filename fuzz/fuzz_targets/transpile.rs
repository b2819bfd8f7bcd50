//! TypeScript strip: `transpile::to_javascript` on arbitrary UTF-8 must answer
//! with JavaScript or a syntax error, never panic or overflow a worker's stack.
#![no_main]

mod worker_stack;

use libfuzzer_sys::fuzz_target;
use mcp_code_runtime::transpile;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    let source = source.to_owned();
    worker_stack::on_worker_stack(move || {
        let _ = transpile::to_javascript(&source);
    });
});
