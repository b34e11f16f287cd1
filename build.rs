// SPDX-License-Identifier: GPL-2.0-only
//
// Generate the BPF side: scx_rustland_core's dispatcher and its Rust connector (intf.h,
// main.bpf.c, src/bpf.rs: generated, ignored by git), and our own programs in bpf/.

fn main() {
    scx_rustland_core::RustLandBuilder::new()
        .expect("scx_rustland_core builder: cannot start (is clang >= 18 installed? set BPF_CLANG)")
        .build()
        .expect("scx_rustland_core builder: BPF build failed");
    attach_last("src/bpf.rs");

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

/// The line of the core's connector that attaches the scheduler to the kernel.
const ATTACH_LINE: &str = "        let struct_ops = Some(scx_ops_attach!(skel, rustland)?);\n";
/// The connector's last step before returning: the seccomp filter that forbids new mappings.
const LAST_SETUP_LINE: &str =
    "        ALLOCATOR.disable_mmap().expect(\"Failed to disable mmap\");\n";

/// Attach only after the connector's setup (ring-buffer mappings, mlockall of the whole
/// process, the seccomp filter), not before it as the core's template does. Once attached, every
/// task waits for our loop, and that setup can wait for a task: the seccomp filter is a BPF
/// program, whose per-CPU stats need the kernel's percpu allocator mutex. In the VM an `sh`
/// preempted in exec while holding that mutex was queued to us, the setup waited on it, and the
/// kernel evicted us after 5 s (the ps-top case, stop 24's CI). The mlockall (64 MB heap) was
/// also a long window with nobody dispatching. Fails the build if the template changed.
fn attach_last(path: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (Some(attach), Some(last)) = (text.find(ATTACH_LINE), text.find(LAST_SETUP_LINE)) else {
        panic!("{path}: scx_rustland_core's template changed; update build.rs's attach_last");
    };
    if last < attach {
        return; // patched already
    }
    let moved = text.replacen(ATTACH_LINE, "", 1).replacen(
        LAST_SETUP_LINE,
        &format!("{LAST_SETUP_LINE}\n        // Attached last (see scx_foresight's build.rs).\n{ATTACH_LINE}"),
        1,
    );
    std::fs::write(path, moved).unwrap_or_else(|e| panic!("{path}: {e}"));
}
