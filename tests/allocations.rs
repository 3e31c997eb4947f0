//! A training step allocates nothing once its buffers have grown: a global allocator counts
//! the allocations made on the test's thread while it trains.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use keramic::prelude::*;
use keramic::train::Predictor;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

struct CountingAllocator;

thread_local! {
    /// Whether allocations on this thread are counted.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// Allocations and reallocations counted on this thread.
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn record_allocation() {
    // `try_with` because the allocator also runs while thread-local storage is torn down.
    let _ = COUNTING.try_with(|counting| {
        if counting.get() {
            let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        }
    });
}

// SAFETY: every method forwards to the system allocator unchanged.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Returns the number of allocations `run` makes on this thread.
fn allocations_during(run: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|count| count.set(0));
    COUNTING.with(|counting| counting.set(true));
    run();
    COUNTING.with(|counting| counting.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn allocation_counter_counts_this_thread() {
    let allocations = allocations_during(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(8));
    });
    assert_eq!(allocations, 1);
}

model! {
    pub struct TeamStrength {
        input team: Id<100>;
        let strength = Embedding::<100, 1>(team);
        output flat = Flatten(strength);
    }
}

model! {
    /// Every kind of layer with a backward pass: a shared submodel, merges and Dense layers
    /// with two heads.
    pub struct Game {
        input team_1: Id<100>;
        input team_2: Id<100>;
        input features: [8];
        layer strength = TeamStrength;
        let difference = Subtract(strength(team_1), strength(team_2));
        let hidden = Dense::<32, Relu>(Concatenate(features, difference));
        let trunk = Dense::<16, Tanh>(hidden);
        output score = Dense::<1>(trunk);
        output win = Dense::<1, Sigmoid>(trunk);
    }
}

fn game_data(rows: usize) -> Dataset<GameInput, GameOutput> {
    (0..rows)
        .map(|row| {
            let team_1 = (row * 7 % 100) as u32;
            let team_2 = (row * 13 % 100) as u32;
            let features = std::array::from_fn(|i| ((row + i) % 5) as f32 * 0.25 - 0.5);
            let score = (team_1 as f32 - team_2 as f32) / 50.0 + features[0];
            let win = if score > 0.0 { 1.0 } else { 0.0 };
            (GameInput { team_1, team_2, features }, GameOutput { score: [score], win: [win] })
        })
        .collect()
}

#[test]
fn training_steps_allocate_nothing_after_first_batch() {
    const BATCH: usize = 32;
    const STEPS: usize = 300;
    // 1,000 rows in batches of 32 end each pass with a partial batch of 8 rows, so the
    // buffers shrink and grow back during the steps counted.
    let data = game_data(1000);
    let mut model = Game::new(&mut StdRng::seed_from_u64(3));
    let mut training = model.compile((MeanAbsoluteError, BinaryCrossentropy), Adam::default());
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut rng = StdRng::seed_from_u64(4);
    order.shuffle(&mut rng);

    // The first step grows every buffer and creates the optimizer's state.
    training.train_on_batch(&data, &order[..BATCH]).unwrap();
    let batches: Vec<&[usize]> = order.chunks(BATCH).cycle().take(STEPS).collect();
    let mut losses = Vec::with_capacity(STEPS);
    let allocations = allocations_during(|| {
        for batch in &batches {
            losses.push(training.train_on_batch(&data, batch).unwrap());
        }
    });

    assert_eq!(allocations, 0, "{STEPS} training steps allocated {allocations} times");
    assert_eq!(losses.len(), STEPS);
    assert!(losses.iter().all(|loss| loss.is_finite()), "a step returned a non-finite loss");
}

#[test]
fn warm_predictor_allocates_nothing() {
    let data = game_data(5000);
    let model = Game::new(&mut StdRng::seed_from_u64(5));
    let mut predictor = Predictor::new(&model);
    let mut outputs = Vec::with_capacity(data.len());
    predictor.predict_into(data.inputs(), &mut outputs).unwrap();
    predictor.predict_one(&data.inputs()[0]).unwrap();

    let allocations = allocations_during(|| {
        outputs.clear();
        predictor.predict_into(data.inputs(), &mut outputs).unwrap();
        for input in &data.inputs()[..100] {
            predictor.predict_one(input).unwrap();
        }
    });

    assert_eq!(allocations, 0, "prediction with a warm predictor allocated {allocations} times");
    assert_eq!(outputs.len(), data.len());
}
