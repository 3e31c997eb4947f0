//! The scalar types a model can compute in.

/// A floating-point scalar that models compute in: `f32` (the default) or `f64`.
///
/// Training runs in `f32`, as Keras does. `f64` exists so that gradient checks against finite
/// differences can be precise. The trait is sealed.
pub trait Real:
    nalgebra::RealField + Copy + Default + Send + Sync + core::fmt::Debug + core::fmt::Display + 'static + private::Sealed
{
    /// Converts from `f64`, rounding to the nearest value of `Self`.
    fn from_f64(value: f64) -> Self;
    /// Converts to `f64` without loss.
    fn to_f64(self) -> f64;
    /// Converts from `f32` without loss.
    fn from_f32(value: f32) -> Self;
}

impl Real for f32 {
    fn from_f64(value: f64) -> Self {
        value as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f32(value: f32) -> Self {
        value
    }
}

impl Real for f64 {
    fn from_f64(value: f64) -> Self {
        value
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f32(value: f32) -> Self {
        f64::from(value)
    }
}

mod private {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}
