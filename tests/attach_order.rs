// SPDX-License-Identifier: GPL-2.0-only
//! The core's connector (src/bpf.rs, generated at build) must attach to the kernel only after
//! its setup: once attached every task waits for our loop, and that setup can wait for a task
//! (see build.rs, `attach_last`).

const CONNECTOR: &str = include_str!("../src/bpf.rs");

fn at(needle: &str) -> usize {
    CONNECTOR
        .find(needle)
        .unwrap_or_else(|| panic!("src/bpf.rs has no `{needle}`"))
}

#[test]
fn the_scheduler_attaches_after_the_connector_setup() {
    let attach = at("scx_ops_attach!(skel, rustland)");
    for setup in [
        "RingBufferBuilder::new()",
        "UserRingBuffer::new(",
        "ALLOCATOR.lock_memory()",
        "ALLOCATOR.disable_mmap()",
    ] {
        assert!(at(setup) < attach, "`{setup}` comes after the attach");
    }
    assert_eq!(CONNECTOR.matches("scx_ops_attach!(").count(), 1);
}
