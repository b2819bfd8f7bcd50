//! The indexes of recent tool sets, so a search over tools that have not
//! changed ranks at once instead of indexing every tool again.
//!
//! An index is keyed by the identity of the tool lists it was built from
//! (the caller's key) and kept with what `pins` those lists in memory, so a
//! key cannot be reused by other lists while its index is cached. The cache
//! keeps the [`CAPACITY`] most recently used indexes. A new index is handed
//! to [`super::semantic`] to have its entries embedded in the background.

use std::any::Any;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::ToolIndex;

/// How many indexes are kept (tool sets differ by the servers a run sees).
pub const CAPACITY: usize = 8;

type Pins = Vec<Arc<dyn Any + Send + Sync>>;

/// Recently built indexes, by key.
#[derive(Default)]
pub struct IndexCache {
    entries: Mutex<VecDeque<(u64, Arc<ToolIndex>, Pins)>>,
}

impl IndexCache {
    /// The index of `key`, cached or built by `build` (outside the lock, so
    /// searches of other tool sets go on meanwhile) and kept with `pins`.
    pub fn get_or_build(&self, key: u64, pins: Pins, build: impl FnOnce() -> ToolIndex) -> Arc<ToolIndex> {
        {
            let mut entries = self.entries.lock().expect("index cache lock");
            if let Some(at) = entries.iter().position(|(cached, _, _)| *cached == key) {
                let entry = entries.remove(at).expect("the position is in range");
                let index = Arc::clone(&entry.1);
                entries.push_front(entry);
                return index;
            }
        }
        let index = Arc::new(build());
        super::semantic::embed_in_background(&index);
        let mut entries = self.entries.lock().expect("index cache lock");
        entries.push_front((key, Arc::clone(&index), pins));
        entries.truncate(CAPACITY);
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typegen::ToolInfo;

    fn index(name: &str) -> ToolIndex {
        let tool = ToolInfo { name: name.into(), description: None, input_schema: serde_json::json!({}), output_schema: None };
        ToolIndex::new([("s", &tool)])
    }

    #[test]
    fn an_index_is_built_once_per_key_and_the_least_recently_used_goes_first() {
        let cache = IndexCache::default();
        let mut builds = 0;
        for key in [1, 1, 2, 1] {
            cache.get_or_build(key, Vec::new(), || {
                builds += 1;
                index("ping")
            });
        }
        assert_eq!(builds, 2);
        for key in 3..(3 + CAPACITY as u64) {
            cache.get_or_build(key, Vec::new(), || index("x"));
        }
        let mut rebuilt = false;
        cache.get_or_build(1, Vec::new(), || {
            rebuilt = true;
            index("ping")
        });
        assert!(rebuilt, "key 1 was the least recently used and was dropped");
    }
}
