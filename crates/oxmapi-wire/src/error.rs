//! Codec errors: every decode failure names the structure, the field and the byte offset.

use std::fmt;

/// What went wrong while decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the field was complete.
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The field holds a value the format does not allow.
    InvalidValue(String),
    /// Bytes were left over after a structure that must fill its buffer exactly.
    TrailingBytes(usize),
    /// The input asks for more than the decoder's budget allows (segment count, inflated
    /// size): refused before anything is allocated for it.
    LimitExceeded {
        /// What was counted (`"segments"`, `"inflated bytes"`, ...).
        what: &'static str,
        /// The budget.
        limit: usize,
        /// What the input declared (at least; counting stops past the limit).
        declared: usize,
    },
}

/// A decode failure with its location.
///
/// `path` lists the enclosing structures, outermost first; `field` is the field that failed and
/// `offset` its absolute byte offset in the buffer given to the outermost decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Enclosing structures, outermost first.
    pub path: Vec<&'static str>,
    /// The field being read.
    pub field: &'static str,
    /// Absolute byte offset of the field.
    pub offset: usize,
    /// What went wrong.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// A truncation error at `offset`.
    pub fn truncated(field: &'static str, offset: usize, needed: usize, available: usize) -> Self {
        Self {
            path: Vec::new(),
            field,
            offset,
            kind: DecodeErrorKind::Truncated { needed, available },
        }
    }

    /// An invalid-value error at `offset`.
    pub fn invalid(field: &'static str, offset: usize, detail: impl Into<String>) -> Self {
        Self {
            path: Vec::new(),
            field,
            offset,
            kind: DecodeErrorKind::InvalidValue(detail.into()),
        }
    }

    /// Trailing bytes after a structure.
    pub fn trailing(field: &'static str, offset: usize, count: usize) -> Self {
        Self {
            path: Vec::new(),
            field,
            offset,
            kind: DecodeErrorKind::TrailingBytes(count),
        }
    }

    /// A budget error at `offset`: the input declares `declared` of `what`, above `limit`.
    pub fn limit(
        field: &'static str,
        offset: usize,
        what: &'static str,
        limit: usize,
        declared: usize,
    ) -> Self {
        Self {
            path: Vec::new(),
            field,
            offset,
            kind: DecodeErrorKind::LimitExceeded {
                what,
                limit,
                declared,
            },
        }
    }

    /// True when the input was refused for exceeding a decoder budget.
    pub fn is_limit(&self) -> bool {
        matches!(self.kind, DecodeErrorKind::LimitExceeded { .. })
    }

    /// Records that the error happened inside `structure` (call from the inside out).
    #[must_use]
    pub fn within(mut self, structure: &'static str) -> Self {
        self.path.insert(0, structure);
        self
    }

    /// The innermost structure, or `"buffer"` when none was recorded.
    pub fn structure(&self) -> &'static str {
        self.path.last().copied().unwrap_or("buffer")
    }

    /// True when more input could complete the structure (streaming framing).
    pub fn is_truncated(&self) -> bool {
        matches!(self.kind, DecodeErrorKind::Truncated { .. })
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "buffer".to_owned()
        } else {
            self.path.join(" > ")
        };
        match &self.kind {
            DecodeErrorKind::Truncated { needed, available } => write!(
                f,
                "{path}: field {} at byte offset {} is truncated (needs {needed} bytes, {available} left)",
                self.field, self.offset
            ),
            DecodeErrorKind::InvalidValue(detail) => write!(
                f,
                "{path}: field {} at byte offset {} is invalid: {detail}",
                self.field, self.offset
            ),
            DecodeErrorKind::LimitExceeded {
                what,
                limit,
                declared,
            } => write!(
                f,
                "{path}: field {} at byte offset {} exceeds the limit: {declared} {what} declared, at most {limit} allowed",
                self.field, self.offset
            ),
            DecodeErrorKind::TrailingBytes(n) => write!(
                f,
                "{path}: {n} unexpected trailing bytes at byte offset {} after {}",
                self.offset, self.field
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// An encode failure: a value does not fit the wire format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A length or count does not fit its wire field.
    #[error("{structure}: {field} is {value}, more than the wire field allows ({max})")]
    TooLarge {
        /// The structure being encoded.
        structure: &'static str,
        /// The field.
        field: &'static str,
        /// The value that did not fit.
        value: usize,
        /// The largest value the field can carry.
        max: usize,
    },
    /// A value is not allowed by the format.
    #[error("{structure}: {field} is invalid: {detail}")]
    Invalid {
        /// The structure being encoded.
        structure: &'static str,
        /// The field.
        field: &'static str,
        /// Why.
        detail: String,
    },
}

/// Result of a decode.
pub type DecodeResult<T> = Result<T, DecodeError>;
/// Result of an encode.
pub type EncodeResult<T = ()> = Result<T, EncodeError>;

/// Adds the structure name to errors coming out of a decoder.
pub trait DecodeContext<T> {
    /// Marks the error as having happened inside `structure`.
    fn within(self, structure: &'static str) -> DecodeResult<T>;
}

impl<T> DecodeContext<T> for DecodeResult<T> {
    fn within(self, structure: &'static str) -> Self {
        self.map_err(|e| e.within(structure))
    }
}
