// SPDX-License-Identifier: GPL-2.0-only
//
// Generate the BPF side (scx_rustland_core's dispatcher) and its Rust connector.
// The generated files (intf.h, main.bpf.c, src/bpf.rs) are ignored by git.

fn main() {
    scx_rustland_core::RustLandBuilder::new()
        .expect("scx_rustland_core builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .build()
        .expect("scx_rustland_core builder: BPF build failed");
}
