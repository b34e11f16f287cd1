// SPDX-License-Identifier: GPL-2.0-only
//! foresight_payload N: a CPU-bound stand-in for a FaaS function. Computes fib(N) the slow,
//! recursive way (CPU demand grows by ~1.618x per step of N) and prints it, after a
//! `started_ns T` line (CLOCK_MONOTONIC at its first instruction in main) that the load
//! generator reads to time the invocation's startup.

use std::process::ExitCode;

fn fib(n: u32) -> u64 {
    if n < 2 {
        n as u64
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

fn main() -> ExitCode {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    println!(
        "started_ns {}",
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    );
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
