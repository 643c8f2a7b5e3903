//! Shared code of the demo binaries (`load-urls`, `primes`, `deadlock`).
