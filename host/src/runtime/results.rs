//! Results kept for reading later: when a response cuts a run's result or
//! console to the token budget, the whole text is kept here under an id of
//! its own, to be read page by page.
//!
//! The store is in memory and bounded: entries older than the time to live
//! are dropped, and the oldest go first when a new one needs the room. Text
//! larger than the whole store is not kept. Pages end on UTF-8 character
//! boundaries, so the pages of a text joined are that text.
//!
//! It knows nothing of MCP: URIs and resources are the server's.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::ResultStoreSettings;

/// Which text of a kept run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The result's JSON.
    Result,
    /// The console, one `[level] message` line each.
    Logs,
}

/// Why a page cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Never kept, expired or evicted.
    #[error("it is not kept (any more): results are kept for {ttl:?}, in at most {max_bytes} bytes (the oldest go first)")]
    Gone { ttl: Duration, max_bytes: usize },
    #[error("offset {offset} is past the end ({total} bytes)")]
    PastTheEnd { offset: usize, total: usize },
}

/// One page of a kept text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub text: String,
    /// Where the page starts, in bytes.
    pub offset: usize,
    /// Where the next page starts; `None` after the last.
    pub next: Option<usize>,
    /// The size of the whole text, in bytes.
    pub total: usize,
}

struct Kept {
    id: String,
    at: Instant,
    result: Option<Arc<str>>,
    logs: Option<Arc<str>>,
}

impl Kept {
    fn bytes(&self) -> usize {
        self.result.as_ref().map_or(0, |text| text.len()) + self.logs.as_ref().map_or(0, |text| text.len())
    }
}

#[derive(Default)]
struct Entries {
    kept: VecDeque<Kept>,
    bytes: usize,
    /// How many runs were kept so far (part of each id).
    count: u64,
}

pub struct ResultStore {
    settings: ResultStoreSettings,
    entries: Mutex<Entries>,
    /// Keys the random part of ids.
    ids: std::collections::hash_map::RandomState,
}

impl ResultStore {
    pub fn new(settings: ResultStoreSettings) -> Self {
        ResultStore { settings, entries: Mutex::default(), ids: std::collections::hash_map::RandomState::new() }
    }

    /// Keeps the texts of one run and returns their id, or `None` when
    /// together they are larger than the whole store.
    pub fn keep(&self, result: Option<String>, logs: Option<String>) -> Option<String> {
        let mut kept = Kept { id: String::new(), at: Instant::now(), result: result.map(Into::into), logs: logs.map(Into::into) };
        let bytes = kept.bytes();
        if bytes > self.settings.max_bytes {
            return None;
        }
        let mut entries = self.entries.lock().expect("result store lock");
        self.drop_expired(&mut entries);
        while entries.bytes + bytes > self.settings.max_bytes {
            let Some(oldest) = entries.kept.pop_front() else { break };
            entries.bytes -= oldest.bytes();
        }
        entries.count += 1;
        kept.id = format!("{}-{:08x}", entries.count, self.ids.hash_one(entries.count) as u32);
        entries.bytes += bytes;
        let id = kept.id.clone();
        entries.kept.push_back(kept);
        Some(id)
    }

    /// The page of `part` of run `id` that starts at `offset` (moved back to
    /// a character boundary) and has at most `limit` bytes (at least one
    /// character).
    pub fn page(&self, id: &str, part: Part, offset: usize, limit: usize) -> Result<Page, StoreError> {
        let text = {
            let mut entries = self.entries.lock().expect("result store lock");
            self.drop_expired(&mut entries);
            let kept = entries.kept.iter().find(|kept| kept.id == id);
            let text = kept.and_then(|kept| match part {
                Part::Result => kept.result.clone(),
                Part::Logs => kept.logs.clone(),
            });
            text.ok_or(StoreError::Gone { ttl: self.settings.ttl, max_bytes: self.settings.max_bytes })?
        };
        let total = text.len();
        if offset > total {
            return Err(StoreError::PastTheEnd { offset, total });
        }
        let start = text.floor_char_boundary(offset);
        let mut end = text.floor_char_boundary(start.saturating_add(limit));
        if end == start && start < total {
            end = text.ceil_char_boundary(start + 1);
        }
        Ok(Page { text: text[start..end].to_owned(), offset: start, next: (end < total).then_some(end), total })
    }

    fn drop_expired(&self, entries: &mut Entries) {
        while entries.kept.front().is_some_and(|oldest| oldest.at.elapsed() >= self.settings.ttl) {
            if let Some(oldest) = entries.kept.pop_front() {
                entries.bytes -= oldest.bytes();
            }
        }
    }
}



#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_bytes: usize, ttl: Duration) -> ResultStore {
        ResultStore::new(ResultStoreSettings { max_bytes, ttl })
    }

    fn read_all(store: &ResultStore, id: &str, part: Part, limit: usize) -> String {
        let (mut whole, mut offset) = (String::new(), 0);
        loop {
            let page = store.page(id, part, offset, limit).unwrap();
            assert!(page.text.len() <= limit.max(4), "{} bytes", page.text.len());
            assert_eq!(page.offset, offset);
            whole.push_str(&page.text);
            match page.next {
                Some(next) => offset = next,
                None => return whole,
            }
        }
    }

    #[test]
    fn pages_end_on_character_boundaries_and_join_to_the_text() {
        let store = store(1 << 20, Duration::from_secs(60));
        let text = "aé😀".repeat(1000);
        let id = store.keep(Some(text.clone()), Some("[log] hi".into())).unwrap();
        for limit in [1, 2, 3, 5, 7, 100, 4096, 1 << 20] {
            assert_eq!(read_all(&store, &id, Part::Result, limit), text, "limit {limit}");
        }
        assert_eq!(read_all(&store, &id, Part::Logs, 3), "[log] hi");
        let inside = store.page(&id, Part::Result, 2, 10).unwrap();
        assert_eq!(inside.offset, 1, "an offset inside a character moves back to its start");
        assert_eq!(store.page(&id, Part::Result, text.len(), 10).unwrap(), Page { text: String::new(), offset: text.len(), next: None, total: text.len() });
        assert_eq!(store.page(&id, Part::Result, text.len() + 1, 10), Err(StoreError::PastTheEnd { offset: text.len() + 1, total: text.len() }));
    }

    #[test]
    fn the_oldest_go_first_and_what_is_larger_than_the_store_is_not_kept() {
        let store = store(100, Duration::from_secs(60));
        let first = store.keep(Some("a".repeat(60)), None).unwrap();
        let second = store.keep(Some("b".repeat(30)), None).unwrap();
        assert!(store.page(&first, Part::Result, 0, 10).is_ok());
        let third = store.keep(None, Some("c".repeat(40))).unwrap();
        assert!(matches!(store.page(&first, Part::Result, 0, 10), Err(StoreError::Gone { .. })), "evicted");
        assert!(store.page(&second, Part::Result, 0, 10).is_ok() && store.page(&third, Part::Logs, 0, 10).is_ok());
        assert!(matches!(store.page(&third, Part::Result, 0, 10), Err(StoreError::Gone { .. })), "only the logs were kept");
        assert_eq!(store.keep(Some("d".repeat(101)), None), None);
        assert!(store.page(&second, Part::Result, 0, 10).is_ok(), "a refused entry evicts nothing");
        assert_ne!(first, second);
    }

    #[test]
    fn entries_expire() {
        let store = store(100, Duration::from_millis(1));
        let id = store.keep(Some("x".into()), None).unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(matches!(store.page(&id, Part::Result, 0, 10), Err(StoreError::Gone { .. })));
        assert_eq!(store.entries.lock().unwrap().bytes, 0, "expired entries are dropped");
    }
}
