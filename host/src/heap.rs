//! Giving the host's freed heap back to the system. glibc keeps what is freed
//! in its arenas for reuse, so after a burst of large allocations (building
//! the guest artifact with Cranelift, runs that grew their memory to the cap)
//! the host would hold that memory for its whole life. [`trim`] returns the
//! free parts; the sandbox and the runtime call it after such work, never
//! after an ordinary run (it walks every arena: cheap beside the work that
//! preceded it, not beside a trivial run).
//!
//! Pure: owns no state, touches nothing but the allocator.

/// A run whose linear memory grew past this is followed by a [`trim`].
pub const LARGE_RUN_BYTES: usize = 16 << 20;

/// Returns the free memory at the top of the heap and the free pages inside
/// it, in every arena, to the system.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
