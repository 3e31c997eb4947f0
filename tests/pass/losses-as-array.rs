// Trains a model with two outputs once with an array of losses and once with the tuple of the
// same losses, from the same seed. Both forms take one loss per output, so the two runs must
// end with the same evaluation.

use keramic::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

model! {
    pub struct TwoHeads {
        input ratings: [2];
        output score_diff = Dense::<1>(ratings);
        output margin = Dense::<1>(score_diff);
    }
}

fn main() {
    let data: Dataset<TwoHeadsInput, TwoHeadsOutput> = (0..32)
        .map(|i| {
            let x = [i as f32 / 8.0, 1.0 - i as f32 / 16.0];
            (TwoHeadsInput { ratings: x }, TwoHeadsOutput { score_diff: [x[0] - x[1]], margin: [2.0 * (x[0] - x[1])] })
        })
        .collect();
    let options = Fit::epochs(3).batch_size(8).verbose(false);

    let mut with_array = TwoHeads::new(&mut StdRng::seed_from_u64(7));
    let mut training = with_array.compile([MeanSquaredError; 2], Adam::new(0.01));
    training.fit(&data, &options).unwrap();
    let array_loss = training.evaluate(&data).unwrap().loss;

    let mut with_tuple = TwoHeads::new(&mut StdRng::seed_from_u64(7));
    let mut training = with_tuple.compile((MeanSquaredError, MeanSquaredError), Adam::new(0.01));
    training.fit(&data, &options).unwrap();
    let tuple_loss = training.evaluate(&data).unwrap().loss;

    assert_eq!(array_loss.to_bits(), tuple_loss.to_bits(), "array {array_loss}, tuple {tuple_loss}");
}
