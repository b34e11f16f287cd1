// SPDX-License-Identifier: GPL-2.0-only
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| scx_foresight::offline::fuzz_targets::samples_csv(data));
