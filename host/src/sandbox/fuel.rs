//! A run's CPU budget, shared with the skills it calls.
//!
//! Fuel lives in each `Store`, but a program and the skills it imports run in
//! stores of their own, and the skills' fuel counts against the program's
//! budget. So the budget is a [`FuelPool`] the whole tree of runs draws from:
//! each store starts with what is left in the pool, and at every epoch tick
//! its [`FuelMeter`] charges the pool with what the store burnt since the last
//! tick and refills the store to what is left. When the pool is empty, every
//! store of the tree runs out of fuel at its next tick. Stores running at once
//! can overdraw the pool by at most one tick of work each.
//!
//! It owns only this accounting; when to sync is the sandbox's business.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The fuel left to a run and every skill it calls.
#[derive(Debug)]
pub struct FuelPool {
    total: u64,
    left: AtomicU64,
}

impl FuelPool {
    pub fn new(total: u64) -> Arc<Self> {
        Arc::new(FuelPool { total, left: AtomicU64::new(total) })
    }

    /// What the tree of runs has burnt so far.
    pub fn used(&self) -> u64 {
        self.total - self.left()
    }

    pub fn left(&self) -> u64 {
        self.left.load(Ordering::Acquire)
    }

    /// Takes `burnt` from the pool (at most what is left).
    fn charge(&self, burnt: u64) {
        let _ = self.left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |left| Some(left.saturating_sub(burnt)));
    }
}

/// One store's account with its [`FuelPool`].
#[derive(Debug)]
pub struct FuelMeter {
    pool: Arc<FuelPool>,
    /// The fuel the store was given at its last sync.
    given: u64,
    /// What this store burnt, over all syncs.
    burnt: u64,
}

impl FuelMeter {
    /// A meter whose store starts with what is left in `pool`.
    pub fn new(pool: Arc<FuelPool>) -> Self {
        let given = pool.left();
        FuelMeter { pool, given, burnt: 0 }
    }

    /// The fuel to give the store when it starts.
    pub fn initial(&self) -> u64 {
        self.given
    }

    /// Charges the pool with what the store burnt since the last sync (it has
    /// `store_left` of its fuel) and returns the fuel to give it now.
    pub fn sync(&mut self, store_left: u64) -> u64 {
        let burnt = self.given.saturating_sub(store_left);
        self.pool.charge(burnt);
        self.burnt += burnt;
        self.given = self.pool.left();
        self.given
    }

    /// What this store burnt.
    pub fn burnt(&self) -> u64 {
        self.burnt
    }

    pub fn pool(&self) -> &Arc<FuelPool> {
        &self.pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_of_one_pool_draw_from_the_same_budget() {
        let pool = FuelPool::new(1000);
        let mut program = FuelMeter::new(Arc::clone(&pool));
        let mut skill = FuelMeter::new(Arc::clone(&pool));
        assert_eq!((program.initial(), skill.initial()), (1000, 1000));
        assert_eq!(skill.sync(400), 400, "the skill burnt 600");
        assert_eq!(program.sync(900), 300, "the program burnt 100 and sees what the skill left");
        assert_eq!((pool.used(), program.burnt(), skill.burnt()), (700, 100, 600));
        assert_eq!(skill.sync(0), 0, "overdrawing empties the pool, no more");
        assert_eq!(program.sync(300), 0);
        assert_eq!(pool.left(), 0);
    }
}
