//! keramic: Keras-style functional models declared with `model!`, with every shape checked at
//! compile time.

pub use model_core::*;
pub use model_macros::model;

/// Everything a model file needs: the macro, the layers' marker names, losses, optimizers and
/// training types.
pub mod prelude {
    pub use crate::model;
    pub use model_core::Error;
    pub use model_core::data::Dataset;
    pub use model_core::network::Network;
    pub use model_core::train::{Evaluation, Fit, History, NetworkExt};
}
