//! Fuzz target: see `payloads_check.rs`.
//! Run: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run sio_payloads corpus/sio_payloads seeds/payloads`
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "payloads_check.rs"]
mod payloads_check;

fuzz_target!(|data: &[u8]| payloads_check::sio(data));
