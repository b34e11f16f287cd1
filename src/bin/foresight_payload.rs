// SPDX-License-Identifier: GPL-2.0-only
//! foresight_payload N: a CPU-bound stand-in for a FaaS function. Computes fib(N) the slow,
//! recursive way (CPU demand grows by ~1.618x per step of N) and prints it.

use std::process::ExitCode;

fn fib(n: u32) -> u64 {
    if n < 2 {
        n as u64
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

fn main() -> ExitCode {
    let arg = std::env::args().nth(1).unwrap_or_default();
    match arg.parse::<u32>() {
        Ok(n) if n <= 60 => {
            println!("fib({n}) = {}", fib(std::hint::black_box(n)));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("usage: foresight_payload N   (N an integer 0..=60; got {arg:?})");
            ExitCode::from(2)
        }
    }
}
