//! The collector that gathers every error of one invocation.

/// Errors found so far. They are all reported together, so that one run shows every
/// independent mistake.
#[derive(Default)]
pub struct Errors {
    list: Vec<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        self.list.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Merges the errors into one, or returns `None` when there are none.
    pub fn combine(self) -> Option<syn::Error> {
        self.list.into_iter().reduce(|mut all, error| {
            all.combine(error);
            all
        })
    }
}
