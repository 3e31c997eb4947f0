//! Large layers keep their weights on the heap, so they build and train on a small stack.

use keramic::prelude::*;
use rand::SeedableRng;

model! {
    pub struct Digits {
        input pixels: [784];
        let hidden = Dense::<256, Relu>(pixels);
        output class = Dense::<10, Softmax>(hidden);
    }
}

#[test]
fn dense_784_by_256_trains_on_small_stack() {
    // 256 KiB is far less than the 784 × 256 kernel (784 KiB in f32), so any copy of the
    // weights on the stack would overflow it.
    let trainer = std::thread::Builder::new().stack_size(256 * 1024).spawn(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut model = Digits::new(&mut rng);
        let data: Dataset<DigitsInput, DigitsOutput> = (0..64)
            .map(|i| {
                let mut pixels = [0.0; 784];
                pixels[i % 784] = 1.0;
                let mut class = [0.0; 10];
                class[i % 10] = 1.0;
                (DigitsInput { pixels }, DigitsOutput { class })
            })
            .collect();
        let mut training = model.compile(CategoricalCrossentropy, Adam::default());
        let history = training.fit(&data, &Fit::epochs(3).batch_size(16).verbose(false)).map_err(|e| e.to_string())?;
        Ok::<_, String>((Digits::TOTAL_PARAMS, history.epochs.len()))
    });
    let (params, epochs) = trainer.unwrap().join().unwrap().unwrap();
    assert_eq!(params, 784 * 256 + 256 + 256 * 10 + 10);
    assert_eq!(epochs, 3);
}

model! {
    pub struct WideDigits {
        input pixels: [784];
        let hidden = Dense::<512, Relu>(pixels);
        output class = Dense::<10, Softmax>(hidden);
    }
}

#[test]
fn dense_784_by_512_trains_on_small_stack() {
    // The 784 × 512 kernel is 1.5 MiB in f32, six times the 256 KiB stack.
    let trainer = std::thread::Builder::new().stack_size(256 * 1024).spawn(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        let mut model = WideDigits::new(&mut rng);
        let data: Dataset<WideDigitsInput, WideDigitsOutput> = (0..48)
            .map(|i| {
                let mut pixels = [0.0; 784];
                pixels[(i * 17) % 784] = 1.0;
                let mut class = [0.0; 10];
                class[i % 10] = 1.0;
                (WideDigitsInput { pixels }, WideDigitsOutput { class })
            })
            .collect();
        let mut training = model.compile(CategoricalCrossentropy, Adam::default());
        let history = training.fit(&data, &Fit::epochs(2).batch_size(16).verbose(false)).map_err(|e| e.to_string())?;
        let predictions = model.predict(data.inputs()).map_err(|e| e.to_string())?;
        Ok::<_, String>((WideDigits::TOTAL_PARAMS, history.epochs.len(), predictions.len()))
    });
    let (params, epochs, predictions) = trainer.unwrap().join().unwrap().unwrap();
    assert_eq!(params, 784 * 512 + 512 + 512 * 10 + 10);
    assert_eq!(epochs, 2);
    assert_eq!(predictions, 48);
}
