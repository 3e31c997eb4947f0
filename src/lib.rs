//! keramic: Keras-style functional models declared with `model!`, with every shape checked at
//! compile time.

pub use model_core::*;
pub use model_macros::model;

/// Everything a model file needs: the macro, losses, optimizers, data and training types.
pub mod prelude {
    pub use crate::model;
    pub use model_core::Error;
    pub use model_core::data::Dataset;
    pub use model_core::data::csv::read_csv;
    pub use model_core::loss::{BinaryCrossentropy, CategoricalCrossentropy, Loss, MeanAbsoluteError, MeanSquaredError};
    pub use model_core::network::Network;
    pub use model_core::optim::{Adam, Optimizer, Sgd};
    pub use model_core::train::{Evaluation, Fit, History, NetworkExt};
}
