//! Metrics reported by `evaluate`.

use crate::Real;

/// Counts the rows of a batch whose predicted class matches the target class.
///
/// `values` and `targets` are stored sample by sample with `width` features per sample, as
/// in [`HeadOutput`](crate::loss::HeadOutput). Returns `(correct rows, rows)`.
///
/// - With `width` 1, a row is correct when `prediction > 0.5` equals `target > 0.5`, the
///   binary accuracy of Keras for targets of 0 and 1.
/// - With a larger `width`, a row is correct when the index of the largest prediction equals
///   the index of the largest target, the categorical accuracy of Keras. Ties go to the first
///   index.
///
/// NOTE: For a target strictly between 0 and 1, Keras's binary accuracy compares the target
/// itself with the thresholded prediction, so it counts every such row as wrong. This
/// function thresholds the target instead.
///
/// # Panics
///
/// Panics when `values.len()` is not a multiple of a nonzero `width` or `targets` has a
/// different length. The model builds these slices, so a panic here is a bug in the caller.
pub fn accuracy<T: Real>(values: &[T], targets: &[T], width: usize) -> (usize, usize) {
    assert_eq!(
        targets.len(),
        values.len(),
        "accuracy: targets and values differ in length"
    );
    if values.is_empty() {
        return (0, 0);
    }
    assert!(
        width > 0,
        "accuracy: width is 0 but there are {} values",
        values.len()
    );
    assert!(
        values.len().is_multiple_of(width),
        "accuracy: {} values do not form whole rows of width {width}",
        values.len()
    );

    let rows = values.len() / width;
    let correct = if width == 1 {
        let half = <T as Real>::from_f64(0.5);
        values
            .iter()
            .zip(targets)
            .filter(|&(&p, &y)| (p > half) == (y > half))
            .count()
    } else {
        values
            .chunks_exact(width)
            .zip(targets.chunks_exact(width))
            .filter(|(prediction, target)| argmax(prediction) == argmax(target))
            .count()
    };
    (correct, rows)
}

/// Returns the index of the largest element of a non-empty row, the first one on ties.
///
/// NaN never compares larger, so it wins only at index 0.
fn argmax<T: Real>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate().skip(1) {
        if x > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_accuracy_thresholds_at_half() {
        let values = [0.9, 0.2, 0.5, 0.51, 0.7, 0.0];
        let targets = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        // Row 2 is wrong because 0.5 is not above the threshold, and row 4 predicts 1 for a 0.
        assert_eq!(accuracy(&values, &targets, 1), (4, 6));
    }

    #[test]
    fn binary_accuracy_in_f32() {
        let values = [0.9f32, 0.4, 0.6];
        let targets = [1.0f32, 1.0, 0.0];
        assert_eq!(accuracy(&values, &targets, 1), (1, 3));
    }

    #[test]
    fn categorical_accuracy_compares_argmax() {
        let values = [
            0.1, 0.7, 0.2, // predicts class 1
            0.5, 0.3, 0.2, // predicts class 0
            0.2, 0.2, 0.6, // predicts class 2
            0.4, 0.4, 0.2, // a tie, which goes to class 0
        ];
        let targets = [
            0.0, 1.0, 0.0, //
            0.0, 0.0, 1.0, //
            0.0, 0.0, 1.0, //
            1.0, 0.0, 0.0, //
        ];
        assert_eq!(accuracy(&values, &targets, 3), (3, 4));
    }

    #[test]
    fn argmax_takes_first_of_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[5.0f32]), 0);
        assert_eq!(argmax(&[-1.0, -1.0]), 0);
    }

    #[test]
    fn empty_batch_has_no_rows() {
        let empty: [f64; 0] = [];
        assert_eq!(accuracy(&empty, &empty, 3), (0, 0));
        assert_eq!(accuracy(&empty, &empty, 0), (0, 0));
    }

    #[test]
    #[should_panic(expected = "do not form whole rows")]
    fn partial_row_panics() {
        accuracy(&[0.1, 0.2, 0.3, 0.4], &[0.0, 1.0, 0.0, 1.0], 3);
    }
}
