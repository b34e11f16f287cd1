// SPDX-License-Identifier: GPL-2.0-only
//
// Generate the BPF side: scx_rustland_core's dispatcher and its Rust connector (intf.h,
// main.bpf.c, src/bpf.rs: generated, ignored by git), and our own programs in bpf/.

fn main() {
    scx_rustland_core::RustLandBuilder::new()
        .expect("scx_rustland_core builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .build()
        .expect("scx_rustland_core builder: BPF build failed");

    scx_cargo::BpfBuilder::new()
        .expect("BPF builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .enable_skel("bpf/exits.bpf.c", "exits")
        .build()
        .expect("bpf/exits.bpf.c: BPF build failed");

    scx_cargo::BpfBuilder::new()
        .expect("BPF builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .enable_skel("bpf/execs.bpf.c", "execs")
        .build()
        .expect("bpf/execs.bpf.c: BPF build failed");

    scx_cargo::BpfBuilder::new()
        .expect("BPF builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .enable_skel("bpf/signals.bpf.c", "signals")
        .build()
        .expect("bpf/signals.bpf.c: BPF build failed");
    scx_cargo::BpfBuilder::new()
        .expect("BPF builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .enable_skel("bpf/wakeups.bpf.c", "wakeups")
        .build()
        .expect("bpf/wakeups.bpf.c: BPF build failed");
    for header in [
        "bpf/exits.h",
        "bpf/execs.h",
        "bpf/signals.h",
        "bpf/wakeups.h",
    ] {
        println!("cargo:rerun-if-changed={header}");
    }
}
