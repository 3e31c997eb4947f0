//! Kills a process in the middle of saving, many times, and checks each time that the file it
//! was replacing is still complete and loadable.
//!
//! The test runs this test executable again as the child process, selecting
//! `save_loop_child` and setting `KERAMIC_SAVE_LOOP_PATH`, so that the child saves in a loop
//! until the parent kills it (SIGKILL on Unix) after a random delay.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use keramic::prelude::*;
use keramic::Real;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The variable that turns `save_loop_child` into the saving child, naming its file.
const CHILD_PATH_VARIABLE: &str = "KERAMIC_SAVE_LOOP_PATH";
/// The line the child prints once its models are built, just before it starts saving.
const READY: &str = "save loop ready";
/// How long the child may take to start, build its models and print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The number of children killed at least.
const KILLS: usize = 200;
/// The number of kills that must land inside a save, between the creation of the temporary
/// file and the rename. Without them the test would prove nothing.
const MID_WRITE_KILLS: usize = KILLS / 10;
/// The number of children killed at most. How many kills land inside a save depends on the
/// machine's load, so the test goes on past [`KILLS`] until [`MID_WRITE_KILLS`] have.
const MAX_KILLS: usize = 5 * KILLS;
/// The maximum delay between the child's ready line and the kill.
const MAX_DELAY: Duration = Duration::from_millis(25);

model! {
    /// A model of 164,416 weights (643 KiB in f32), so that one save takes long enough for
    /// kills to land in the middle of it.
    pub struct Wide {
        input x: [256];
        let hidden = Dense::<512, Relu>(x);
        output y = Dense::<64>(hidden);
    }
}

/// Returns the two weight sets the child writes in turn. Either one is a valid state of the
/// file.
fn weight_sets() -> [Wide; 2] {
    [Wide::new(&mut StdRng::seed_from_u64(1)), Wide::new(&mut StdRng::seed_from_u64(2))]
}

fn weight_bits<T: Real, M: Network<T>>(model: &M) -> Vec<u64> {
    let mut bits = Vec::new();
    model.visit_named_weights("", &mut |_, param| bits.extend(param.value.iter().map(|value| value.to_f64().to_bits())));
    bits
}

/// The child's body: saves the two weight sets in turn, forever. Without the environment
/// variable, as in a normal test run, it returns at once.
#[test]
fn save_loop_child() {
    let Some(path) = std::env::var_os(CHILD_PATH_VARIABLE) else { return };
    let models = weight_sets();
    println!("{READY}");
    loop {
        for model in &models {
            model.save(&path).unwrap();
        }
    }
}

/// Returns whether the child printed its ready line within [`READY_TIMEOUT`].
///
/// The test harness prints `test save_loop_child ... ` without a line break before the test
/// runs, so the ready line ends with [`READY`] rather than equals it.
fn wait_until_ready(output: ChildStdout) -> bool {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let ready = BufReader::new(output).lines().map_while(Result::ok).any(|line| line.trim_end().ends_with(READY));
        // The receiver is gone when the wait timed out, and then nobody needs the result.
        let _ = sender.send(ready);
    });
    receiver.recv_timeout(READY_TIMEOUT).unwrap_or(false)
}

/// Removes the temporary files of interrupted saves and returns how many there were.
fn remove_temporary_files(folder: &Path) -> usize {
    let mut removed = 0;
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "tmp") {
            std::fs::remove_file(&path).unwrap();
            removed += 1;
        }
    }
    removed
}

#[test]
fn kill_during_save_keeps_file_intact() {
    let started = Instant::now();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("model.safetensors");
    let valid = weight_sets().map(|model| weight_bits(&model));
    weight_sets()[0].save(&path).unwrap();

    let executable = std::env::current_exe().unwrap();
    let mut rng = StdRng::seed_from_u64(0x5afe);
    let mut loaded = Wide::new(&mut StdRng::seed_from_u64(3));
    let mut killed_mid_write = 0;
    let mut kills = 0;
    while kills < MAX_KILLS && (kills < KILLS || killed_mid_write < MID_WRITE_KILLS) {
        kills += 1;
        let kill = kills;
        let mut child = Command::new(&executable)
            .args(["save_loop_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_PATH_VARIABLE, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ready = wait_until_ready(child.stdout.take().unwrap());
        if !ready {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("child {kill} did not start saving within {READY_TIMEOUT:?}");
        }

        std::thread::sleep(MAX_DELAY.mul_f64(rng.random::<f64>()));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert!(!status.success(), "child {kill} ended by itself: {status}");

        let result = loaded.load(&path);
        assert!(result.is_ok(), "after kill {kill}, the file does not load: {result:?}");
        let bits = weight_bits(&loaded);
        assert!(valid.contains(&bits), "after kill {kill}, the file contains weights that were never saved");
        killed_mid_write += remove_temporary_files(folder.path()).min(1);
    }

    println!(
        "{kills} kills, {killed_mid_write} of them between the creation of the temporary file and the rename, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(killed_mid_write >= MID_WRITE_KILLS, "only {killed_mid_write} of {kills} kills landed inside a save");
}
