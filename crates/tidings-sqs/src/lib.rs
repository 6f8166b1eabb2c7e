//! # tidings-sqs
//!
//! The Amazon SQS broker of tidings.
#![warn(missing_docs)]
