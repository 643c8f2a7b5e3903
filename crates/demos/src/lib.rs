//! Shared code of the demo binaries, public so that their tests can use it too.
//!
//! - [`urls`]: the seed's `load_url` over `ureq`, and the seed's output lines
//!   (`'URL' page is N bytes`, `'URL' generated an exception: REASON`).
//! - [`server`]: a small HTTP server on 127.0.0.1 (over `tiny_http`) serving pages of chosen
//!   sizes, so the seed's run can be reproduced offline (`load-urls --serve-local`) and tested.
//! - [`primes`]: the seed's `PRIMES` and `is_prime`.
//! - [`any_executor`]: the seed's primes program written once against `cfutures::Executor`.
//! - [`repr`]: Python's `%r` of a string, which the seed's lines use for URLs.
//! - [`cli`]: what the three binaries' `clap` command lines share (help layout, value parsers).
//!
//! ```
//! use cfutures_demos::{primes, repr::py_repr};
//!
//! assert!(primes::is_prime(112272535095293));
//! assert_eq!(py_repr("http://www.cnn.com/"), "'http://www.cnn.com/'");
//! ```

pub mod any_executor;
pub mod cli;
pub mod primes;
pub mod repr;
pub mod server;
pub mod urls;
