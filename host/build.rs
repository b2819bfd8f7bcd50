//! Builds the guest runtime (`guest-sdk`, a Javy plugin) for `wasm32-wasip2`
//! and hands it to the host as `$OUT_DIR/guest.wasm`, with a content hash in
//! `$OUT_DIR/guest.hash` that keys the compiled-artifact cache.
//!
//! `rquickjs-sys` would download a WASI SDK; this build uses Debian's clang and
//! wasi-libc instead (installed by `make setup`). Set `MCP_CODE_RUNTIME_GUEST_WASM`
//! to a prebuilt component to skip the guest build.

use std::collections::hash_map::DefaultHasher;
use std::env;
use std::hash::Hasher;
use std::path::PathBuf;
use std::process::Command;

const GUEST_TARGET: &str = "wasm32-wasip2";

/// Compiler settings for QuickJS's C code and for bindgen, both for wasm32-wasip2.
const GUEST_TOOLCHAIN_ENV: &[(&str, &str)] = &[
    ("RQUICKJS_SYS_NO_WASI_SDK", "1"),
    ("CC_wasm32_wasip2", "clang-16"),
    ("AR_wasm32_wasip2", "llvm-ar-16"),
    ("CFLAGS_wasm32_wasip2", "--target=wasm32-wasi -isystem /usr/include/wasm32-wasi"),
    ("LIBCLANG_PATH", "/usr/lib/llvm-16/lib"),
    // QuickJS has no stack check on WASI: the guest's C stack (in its linear
    // memory) must outlast the host's WebAssembly stack, whose overflow is a
    // clean trap. 4 MiB is twice that stack (see MAX_WASM_STACK_BYTES).
    ("CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS", "-Clink-arg=-zstack-size=4194304"),
    (
        "BINDGEN_EXTRA_CLANG_ARGS_wasm32_wasip2",
        "--target=wasm32-wasi -nostdinc -isystem /usr/lib/llvm-16/lib/clang/16/include \
         -isystem /usr/include/wasm32-wasi -D__wasi__",
    ),
];

fn main() {
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-env-changed=MCP_CODE_RUNTIME_GUEST_WASM");
    let guest = match env::var_os("MCP_CODE_RUNTIME_GUEST_WASM") {
        Some(prebuilt) => PathBuf::from(prebuilt),
        None => build_guest(),
    };
    let bytes = std::fs::read(&guest)
        .unwrap_or_else(|e| panic!("cannot read the guest component {}: {e}", guest.display()));
    std::fs::write(out_dir.join("guest.wasm"), &bytes).expect("write guest.wasm");
    std::fs::write(out_dir.join("guest.hash"), content_hash(&bytes)).expect("write guest.hash");
    embed_skills(&out_dir);
}

/// Writes the list of built-in skills, sorted by name, for `include!`.
fn embed_skills(out_dir: &std::path::Path) {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let skills_dir = manifest_dir.parent().expect("host/ lives in the workspace root").join("skills");
    println!("cargo:rerun-if-changed={}", skills_dir.display());
    let mut skills: Vec<(String, PathBuf)> = std::fs::read_dir(&skills_dir)
        .map(|entries| entries.filter_map(Result::ok).map(|entry| entry.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|path| path.extension().is_some_and(|extension| extension == "ts") && !path.to_string_lossy().ends_with(".d.ts"))
        .map(|path| (path.file_stem().expect("a file name").to_string_lossy().into_owned(), path))
        .collect();
    skills.sort();
    let mut list = String::from("&[\n");
    for (name, path) in skills {
        println!("cargo:rerun-if-changed={}", path.display());
        list.push_str(&format!("    ({name:?}, include_str!({:?})),\n", path.display().to_string()));
    }
    list.push(']');
    std::fs::write(out_dir.join("built_in_skills.rs"), list).expect("write built_in_skills.rs");
}

fn build_guest() -> PathBuf {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir.parent().expect("host/ lives in the workspace root");
    let guest_dir = root.join("guest-sdk");
    for watched in ["src", "Cargo.toml", "Cargo.lock", "conventions/src", "conventions/Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", guest_dir.join(watched).display());
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let target_dir = root.join("target").join("guest");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--locked", "--target", GUEST_TARGET, "--manifest-path"])
        .arg(guest_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    clear_outer_build_env(&mut command);
    command.envs(GUEST_TOOLCHAIN_ENV.iter().copied());
    let status = command.status().expect("run cargo to build the guest");
    assert!(
        status.success(),
        "building the guest failed; run `make setup` to install clang-16, wasi-libc and the \
         {GUEST_TARGET} target"
    );
    target_dir.join(GUEST_TARGET).join("release").join("guest_sdk.wasm")
}

/// The outer build's settings describe the host target; the guest must not inherit them.
fn clear_outer_build_env(command: &mut Command) {
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || key == "RUSTFLAGS" || key == "RUSTC_WRAPPER" {
            command.env_remove(key.as_ref());
        }
    }
}

fn content_hash(bytes: &[u8]) -> String {
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    format!("{:016x}-{}", hasher.finish(), bytes.len())
}
